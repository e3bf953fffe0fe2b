#include "services/notifications/fanout.h"

#include <set>

#include <google/protobuf/util/time_util.h>
#include <nlohmann/json.hpp>

#include "infra/events/events.h"
#include "infra/ids.h"
#include "infra/log.h"
#include "infra/status.h"
#include "infra/strings.h"
#include "services/notifications/quiet_hours.h"
#include "services/notifications/templates.h"

namespace cityhub::notifications {

namespace ev = cityhub::events::v1;
namespace nv1 = cityhub::notifications::v1;
using infra::StrCat;

namespace {

enum class Group { kOwn, kFollowed, kDepartment };

Group GroupOf(nv1::Kind kind) {
  switch (kind) {
    case nv1::KIND_OWN_REQUEST_STATUS:
    case nv1::KIND_OWN_REQUEST_COMMENT:
      return Group::kOwn;
    case nv1::KIND_FOLLOWED_REQUEST_STATUS:
    case nv1::KIND_FOLLOWED_REQUEST_COMMENT:
      return Group::kFollowed;
    default:
      return Group::kDepartment;
  }
}

bool Wants(const cityhub::storage::notifications::StoredChannelPreferences& c, Group g) {
  return g == Group::kOwn        ? c.own_requests()
         : g == Group::kFollowed ? c.followed_requests()
                                 : c.department_requests();
}

}  // namespace

StoredPreferences DefaultPreferences() {
  StoredPreferences p;
  for (auto* c : {p.mutable_inbox(), p.mutable_push(), p.mutable_email()}) {
    c->set_own_requests(true);
    c->set_followed_requests(true);
  }
  p.mutable_inbox()->set_department_requests(true);
  p.set_time_zone("Europe/Berlin");
  p.set_quiet_start_minute(22 * 60);
  p.set_quiet_end_minute(7 * 60);
  return p;
}

FanOut::FanOut(Stores& store, Contacts& contacts, ReporterMails* reporters,
               const infra::Clock& clock, FanOutSettings settings)
    : store_(store),
      contacts_(contacts),
      reporters_(reporters),
      clock_(clock),
      settings_(std::move(settings)) {}

absl::Status FanOut::Handle(const std::string& payload) {
  ev::Event event;
  if (!event.ParseFromString(payload)) return absl::InvalidArgumentError("unreadable event");
  EventEffects effects;
  switch (event.payload_case()) {
    case ev::Event::kVerificationRequested:
      return AccountMail(event, event.verification_requested().account_id(), false,
                         event.verification_requested().token());
    case ev::Event::kPasswordResetRequested:
      return AccountMail(event, event.password_reset_requested().account_id(), true,
                         event.password_reset_requested().token());
    case ev::Event::kContactChanged:
      contacts_.Forget(event.contact_changed().account_id());
      return absl::OkStatus();
    case ev::Event::kAccountDeleted:
      contacts_.Forget(event.account_deleted().account_id());
      return store_.events.ForgetAccount(event.account_deleted().account_id());
    case ev::Event::kRolesChanged: {
      const auto& e = event.roles_changed();
      const bool staff =
          std::find(e.roles().begin(), e.roles().end(), "operator") != e.roles().end() ||
          std::find(e.roles().begin(), e.roles().end(), "admin") != e.roles().end();
      std::vector<std::string> departments;
      if (staff) departments.assign(e.departments().begin(), e.departments().end());
      return store_.follows.SetDepartments(e.account_id(), departments);
    }
    case ev::Event::kRequestFollowed:
    case ev::Event::kRequestUnfollowed: {
      const bool follow = event.has_request_followed();
      const auto& request =
          follow ? event.request_followed().request_id() : event.request_unfollowed().request_id();
      const auto& account =
          follow ? event.request_followed().account_id() : event.request_unfollowed().account_id();
      effects.extra.push_back(FollowStore::FollowCommand(request, account, follow));
      return store_.events.ApplyOnce(event.event_id(), effects).status();
    }
    case ev::Event::kReporterContactAdded:
      return ReporterConfirmation(event);
    case ev::Event::kReporterContactConfirmed:
    case ev::Event::kReporterContactEnded: {
      const bool on = event.has_reporter_contact_confirmed();
      effects.extra.push_back(
          FollowStore::ReporterCommand(on ? event.reporter_contact_confirmed().request_id()
                                          : event.reporter_contact_ended().request_id(),
                                       on));
      return store_.events.ApplyOnce(event.event_id(), effects).status();
    }
    case ev::Event::kRequestModerated:
      return HideCommentCopies(event);
    case ev::Event::kRequestCreated: {
      const auto& e = event.request_created();
      return NotifyDepartment(event, e.department(), e.request_id(), e.service_code());
    }
    case ev::Event::kRequestRerouted: {
      // New work for the new department's operators, as if it had been filed there.
      const auto& e = event.request_rerouted();
      return NotifyDepartment(event, e.to_department(), e.request_id(), e.to_service_code());
    }
    case ev::Event::kRequestStatusChanged:
    case ev::Event::kCommentAdded: {
      const bool status = event.has_request_status_changed();
      const std::string request_id =
          status ? event.request_status_changed().request_id() : event.comment_added().request_id();
      const std::string owner = status ? event.request_status_changed().owner_account_id()
                                       : event.comment_added().owner_account_id();
      const std::string code = status ? event.request_status_changed().service_code()
                                      : event.comment_added().service_code();
      const std::string author = status ? std::string() : event.comment_added().author_account_id();
      ASSIGN_OR_RETURN(const Audience audience, store_.follows.AudienceOf(request_id, ""));
      std::vector<Recipient> recipients;
      std::set<std::string> seen = {author};
      if (!owner.empty() && seen.insert(owner).second) {
        recipients.push_back(
            {owner, status ? nv1::KIND_OWN_REQUEST_STATUS : nv1::KIND_OWN_REQUEST_COMMENT});
      }
      // A comment on a request whose details are private (the category's details_public) is
      // for the reporter and staff: a follower could not read it in the app either, so a
      // notice without its text would only be noise. Followers hear of status changes.
      const bool followers_told = status || event.comment_added().details_public();
      for (const auto& f : audience.accounts) {
        if (followers_told && seen.insert(f).second) {
          recipients.push_back(
              {f, status ? nv1::KIND_FOLLOWED_REQUEST_STATUS : nv1::KIND_FOLLOWED_REQUEST_COMMENT});
        }
      }
      return NotifyAndApply(event, recipients, audience, request_id, code);
    }
    default:
      return absl::OkStatus();  // AccountRegistered and others: nothing to tell
  }
}

absl::Status FanOut::NotifyDepartment(const ev::Event& event, const std::string& department,
                                      const std::string& request_id,
                                      const std::string& service_code) {
  ASSIGN_OR_RETURN(const Audience audience, store_.follows.AudienceOf("", department));
  std::vector<Recipient> recipients;
  for (const auto& op : audience.accounts)
    recipients.push_back({op, nv1::KIND_DEPARTMENT_NEW_REQUEST});
  return NotifyAndApply(event, recipients, audience, request_id, service_code);
}

absl::Status FanOut::NotifyAndApply(const ev::Event& event,
                                    const std::vector<Recipient>& recipients,
                                    const Audience& audience, const std::string& request_id,
                                    const std::string& service_code) {
  // Everything the recipients' channels and the webhooks need, in one round trip; then the
  // effects in one script.
  std::vector<std::string> accounts;
  for (const Recipient& r : recipients) accounts.push_back(r.account_id);
  ASSIGN_OR_RETURN(const FanOutDetails details,
                   store_.events.DetailsOf(accounts, audience.webhook_ids));
  EventEffects effects;
  RETURN_IF_ERROR(Notify(event, recipients, details, request_id, &effects));
  RETURN_IF_ERROR(AddReporterUpdate(event, &effects));
  AddWebhookJobs(event, service_code, details.webhooks, &effects);
  if (event.has_comment_added()) {
    // Remember where the text went, for a hide by staff (HideCommentCopies).
    EventStore::RememberCommentCopies(event.comment_added().comment_id(), &effects);
  }
  return store_.events.ApplyOnce(event.event_id(), effects).status();
}

absl::Status FanOut::HideCommentCopies(const ev::Event& event) {
  const std::string& comment_id = event.request_moderated().comment_id();
  if (comment_id.empty()) return absl::OkStatus();  // photos and descriptions: no copies here
  ASSIGN_OR_RETURN(const EventStore::CommentCopies copies,
                   store_.events.CopiesOfComment(comment_id));
  const EventEffects effects =
      EventStore::HideCommentCopies(comment_id, copies, CommentRemovedText());
  return store_.events.ApplyOnce(event.event_id(), effects).status();
}

absl::Status FanOut::Notify(const ev::Event& event, const std::vector<Recipient>& recipients,
                            const FanOutDetails& details, const std::string& request_id,
                            EventEffects* effects) {
  const int64_t now = infra::UnixMillis(clock_.Now());
  for (const Recipient& r : recipients) {
    auto contact = contacts_.Get(r.account_id);
    if (!contact.ok()) {
      if (contact.status().code() == absl::StatusCode::kNotFound) continue;  // account gone
      return contact.status();
    }
    const RecipientState& state = details.recipients.at(r.account_id);
    const StoredPreferences prefs = state.preferences.value_or(DefaultPreferences());
    const Group group = GroupOf(r.kind);
    Text text;
    if (event.has_request_status_changed()) {
      text = StatusChangedText(event.request_status_changed(), group == Group::kOwn,
                               contact->language);
    } else if (event.has_comment_added()) {
      text = CommentAddedText(event.comment_added(), group == Group::kOwn, contact->language);
    } else if (event.has_request_rerouted()) {
      text = ReroutedText(event.request_rerouted(), contact->language);
    } else {
      text = NewRequestText(event.request_created(), contact->language);
    }
    // One id per recipient and event, the same on every redelivery: ULID-shaped (the event's
    // time, then a digest of event and recipient) so that the inbox keeps its order.
    static constexpr std::string_view kCrockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    std::string notification_id = event.event_id().substr(0, 10);
    const std::string digest = infra::Sha256(StrCat(event.event_id(), "/", r.account_id));
    for (int i = 0; i < 16; ++i)
      notification_id += kCrockford[static_cast<unsigned char>(digest[i]) % 32];
    if (Wants(prefs.inbox(), group)) {
      StoredNotification note;
      note.set_id(notification_id);
      note.set_account_id(r.account_id);
      note.set_kind(r.kind);
      note.set_title(text.title);
      note.set_body(text.body);
      note.set_request_id(request_id);
      note.set_created_ms(now);
      effects->inbox.push_back(std::move(note));
    }
    const std::string link = StrCat(settings_.app_url, "/requests/", request_id);
    if (Wants(prefs.push(), group)) {
      int64_t due = now;
      if (prefs.quiet_enabled()) {
        due = NotBefore(now, prefs.quiet_start_minute(), prefs.quiet_end_minute(),
                        prefs.time_zone().empty() ? "Europe/Berlin" : prefs.time_zone());
      }
      for (const StoredDevice& d : state.devices) {
        ScheduledJob job;
        job.job.set_id(StrCat(notification_id, "-p-", d.id()));
        job.job.set_channel(nv1::CHANNEL_PUSH);
        job.job.set_notification_id(notification_id);
        job.job.set_account_id(r.account_id);
        job.job.set_device_id(d.id());
        job.job.set_push_token(d.token());
        job.job.set_title(text.title);
        job.job.set_text(text.body);
        (*job.job.mutable_data())["notification_id"] = notification_id;
        (*job.job.mutable_data())["request_id"] = request_id;
        (*job.job.mutable_data())["kind"] = nv1::Kind_Name(r.kind);
        job.due_ms = due;
        job.state = due > now ? nv1::DELIVERY_STATE_DEFERRED : nv1::DELIVERY_STATE_PENDING;
        effects->jobs.push_back(std::move(job));
      }
    }
    if (Wants(prefs.email(), group) && contact->email_verified && !contact->email.empty()) {
      const Mail mail = NotificationMail(text, link, contact->language);
      ScheduledJob job;
      job.job.set_id(StrCat(notification_id, "-m"));
      job.job.set_channel(nv1::CHANNEL_EMAIL);
      job.job.set_notification_id(notification_id);
      job.job.set_account_id(r.account_id);
      job.job.set_to(contact->email);
      job.job.set_title(mail.subject);
      job.job.set_text(mail.text);
      job.job.set_html(mail.html);
      job.due_ms = now;
      effects->jobs.push_back(std::move(job));
    }
  }
  return absl::OkStatus();
}

void FanOut::AddWebhookJobs(const ev::Event& event, const std::string& service_code,
                            const std::vector<StoredWebhook>& hooks, EventEffects* effects) {
  if (hooks.empty()) return;
  const std::string type = infra::events::TypeName(event);
  nlohmann::json data;
  if (event.has_request_created()) {
    const auto& e = event.request_created();
    data = {{"request_id", e.request_id()},
            {"service_code", e.service_code()},
            {"department", e.department()},
            {"lat", e.lat()},
            {"long", e.long_()},
            {"address", e.address()},
            {"status", "SUBMITTED"}};
  } else if (event.has_request_status_changed()) {
    const auto& e = event.request_status_changed();
    data = {{"request_id", e.request_id()},
            {"service_code", e.service_code()},
            {"department", e.department()},
            {"from_status", cityhub::requests::v1::Status_Name(e.from_status())},
            {"status", cityhub::requests::v1::Status_Name(e.to_status())},
            {"public_note", e.public_note()}};
  } else if (event.has_request_rerouted()) {
    const auto& e = event.request_rerouted();
    data = {{"request_id", e.request_id()},
            {"service_code", e.to_service_code()},
            {"department", e.to_department()},
            {"from_service_code", e.from_service_code()},
            {"from_department", e.from_department()},
            {"status", cityhub::requests::v1::Status_Name(e.status())},
            {"public_note", e.public_note()}};
  } else {
    const auto& e = event.comment_added();
    data = {{"request_id", e.request_id()},
            {"service_code", e.service_code()},
            {"comment_id", e.comment_id()},
            {"author_role", e.author_role()},
            {"details_public", e.details_public()}};
    // Partners see what the public sees: the comment's text only with public details.
    if (e.details_public()) data["text"] = e.text();
  }
  const nlohmann::json body = {
      {"id", event.event_id()},
      {"type", type},
      {"occurred_at", google::protobuf::util::TimeUtil::ToString(event.occurred_at())},
      {"data", data}};
  const std::string text = body.dump();
  for (const StoredWebhook& w : hooks) {
    const bool type_ok =
        std::find(w.event_types().begin(), w.event_types().end(), type) != w.event_types().end();
    const bool code_ok =
        w.service_codes().empty() || std::find(w.service_codes().begin(), w.service_codes().end(),
                                               service_code) != w.service_codes().end();
    if (!type_ok || !code_ok) continue;
    ScheduledJob job;
    job.job.set_id(StrCat(event.event_id(), "-w-", w.id()));
    job.job.set_webhook_id(w.id());
    job.job.set_url(w.url());
    job.job.set_secret(w.secret());
    job.job.set_body(text);
    job.job.set_event_type(type);
    job.due_ms = infra::UnixMillis(clock_.Now());
    effects->jobs.push_back(std::move(job));
  }
}

absl::Status FanOut::ReporterConfirmation(const ev::Event& event) {
  if (reporters_ == nullptr) return absl::OkStatus();
  const std::string& request_id = event.reporter_contact_added().request_id();
  auto mail = reporters_->Get(request_id, cityhub::requests::v1::REPORTER_MAIL_PURPOSE_CONFIRM);
  if (!mail.ok()) {
    // Nobody to ask (confirmed meanwhile, erased): nothing to send.
    return mail.status().code() == absl::StatusCode::kNotFound ? absl::OkStatus() : mail.status();
  }
  const Mail m = ReporterConfirmMail(
      StrCat(settings_.app_url, "/confirm-contact?token=", mail->confirm_token()),
      mail->language());
  EventEffects effects;
  ScheduledJob job;
  job.job.set_id(StrCat(event.event_id(), "-r"));
  job.job.set_channel(nv1::CHANNEL_EMAIL);
  job.job.set_to(mail->email());
  job.job.set_title(m.subject);
  job.job.set_text(m.text);
  job.job.set_html(m.html);
  job.due_ms = infra::UnixMillis(clock_.Now());
  effects.jobs.push_back(std::move(job));
  return store_.events.ApplyOnce(event.event_id(), effects).status();
}

absl::Status FanOut::AddReporterUpdate(const ev::Event& event, EventEffects* effects) {
  // Public changes only: a status change (a withdrawal is one) or a reroute, with its public
  // note; never an internal note, an assignment or a moderation.
  if (reporters_ == nullptr) return absl::OkStatus();
  const bool status = event.has_request_status_changed();
  if (!status && !event.has_request_rerouted()) return absl::OkStatus();
  const std::string& request_id =
      status ? event.request_status_changed().request_id() : event.request_rerouted().request_id();
  const std::string& owner = status ? event.request_status_changed().owner_account_id()
                                    : event.request_rerouted().owner_account_id();
  if (!owner.empty()) return absl::OkStatus();  // an account hears in-app
  ASSIGN_OR_RETURN(const bool has_reporter, store_.follows.HasReporter(request_id));
  if (!has_reporter) return absl::OkStatus();
  auto mail = reporters_->Get(request_id, cityhub::requests::v1::REPORTER_MAIL_PURPOSE_UPDATE);
  if (!mail.ok()) {
    return mail.status().code() == absl::StatusCode::kNotFound ? absl::OkStatus() : mail.status();
  }
  ReporterLinks links;
  links.request = StrCat(settings_.app_url, "/requests/", request_id);
  links.unsubscribe = StrCat(settings_.app_url, "/unsubscribe?token=", mail->unsubscribe_token());
  if (!mail->feedback_token().empty()) {
    links.feedback = StrCat(settings_.app_url, "/feedback?token=", mail->feedback_token());
  }
  const Text text = status
                        ? StatusChangedText(event.request_status_changed(), true, mail->language())
                        : ReporterReroutedText(event.request_rerouted(), mail->language());
  const Mail m = ReporterUpdateMail(text, links, mail->language());
  ScheduledJob job;
  job.job.set_id(StrCat(event.event_id(), "-r"));
  job.job.set_channel(nv1::CHANNEL_EMAIL);
  job.job.set_to(mail->email());
  job.job.set_title(m.subject);
  job.job.set_text(m.text);
  job.job.set_html(m.html);
  job.job.set_list_unsubscribe(StrCat(
      settings_.app_url, "/v1/requests:unsubscribeOneClick?token=", mail->unsubscribe_token()));
  job.due_ms = infra::UnixMillis(clock_.Now());
  effects->jobs.push_back(std::move(job));
  return absl::OkStatus();
}

absl::Status FanOut::AccountMail(const ev::Event& event, const std::string& account_id, bool reset,
                                 const std::string& token) {
  // Verification and reset mails go out whatever the preferences say, also to unverified
  // addresses (that is their point).
  contacts_.Forget(account_id);
  auto contact = contacts_.Get(account_id);
  if (!contact.ok()) {
    return contact.status().code() == absl::StatusCode::kNotFound ? absl::OkStatus()
                                                                  : contact.status();
  }
  const std::string link =
      StrCat(settings_.app_url, reset ? "/reset-password?token=" : "/verify-email?token=", token);
  const Mail mail = reset ? PasswordResetMail(contact->display_name, link, contact->language)
                          : VerificationMail(link, contact->language);
  EventEffects effects;
  ScheduledJob job;
  job.job.set_id(StrCat(event.event_id(), "-m"));
  job.job.set_channel(nv1::CHANNEL_EMAIL);
  job.job.set_account_id(account_id);
  job.job.set_to(contact->email);
  job.job.set_title(mail.subject);
  job.job.set_text(mail.text);
  job.job.set_html(mail.html);
  job.due_ms = infra::UnixMillis(clock_.Now());
  effects.jobs.push_back(std::move(job));
  return store_.events.ApplyOnce(event.event_id(), effects).status();
}

}  // namespace cityhub::notifications
