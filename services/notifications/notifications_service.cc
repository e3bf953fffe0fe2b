#include "services/notifications/notifications_service.h"

#include <google/protobuf/util/time_util.h>

#include "infra/grpc/context.h"
#include "infra/ids.h"
#include "infra/log.h"
#include "infra/status.h"
#include "infra/strings.h"
#include "infra/text.h"
#include "services/notifications/quiet_hours.h"

namespace cityhub::notifications {

namespace nv1 = cityhub::notifications::v1;
using google::protobuf::util::TimeUtil;
using infra::InvalidField;
using infra::StrCat;

namespace {

absl::StatusOr<int> PageSize(int32_t requested) {
  if (requested == 0) return 20;
  if (requested < 0 || requested > 100) return InvalidField("page_size", "must be 1..100");
  return requested;
}

void DeviceToApi(const StoredDevice& d, nv1::Device* out) {
  out->set_device_id(d.id());
  out->set_platform(d.platform());
  out->set_push_token_hint(
      d.token().size() > 6 ? StrCat("…", d.token().substr(d.token().size() - 6)) : "…");
  *out->mutable_created_at() = TimeUtil::MillisecondsToTimestamp(d.created_ms());
}

void WebhookToApi(const StoredWebhook& w, bool with_secret, nv1::Webhook* out) {
  out->set_webhook_id(w.id());
  out->set_url(w.url());
  for (const auto& t : w.event_types()) out->add_event_types(t);
  for (const auto& c : w.service_codes()) out->add_service_codes(c);
  if (with_secret) out->set_secret(w.secret());
  *out->mutable_created_at() = TimeUtil::MillisecondsToTimestamp(w.created_ms());
}

void ChannelToApi(const cityhub::storage::notifications::StoredChannelPreferences& in,
                  nv1::ChannelPreferences* out) {
  out->set_own_requests(in.own_requests());
  out->set_followed_requests(in.followed_requests());
  out->set_department_requests(in.department_requests());
}

void ChannelFromApi(const nv1::ChannelPreferences& in,
                    cityhub::storage::notifications::StoredChannelPreferences* out) {
  out->set_own_requests(in.own_requests());
  out->set_followed_requests(in.followed_requests());
  out->set_department_requests(in.department_requests());
}

bool IsPrintableAscii(std::string_view s) {
  for (char c : s) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

}  // namespace

nv1::NotificationPreferences PreferencesToApi(const StoredPreferences& p) {
  nv1::NotificationPreferences out;
  ChannelToApi(p.inbox(), out.mutable_inbox());
  ChannelToApi(p.push(), out.mutable_push());
  ChannelToApi(p.email(), out.mutable_email());
  auto* q = out.mutable_push_quiet_hours();
  q->set_enabled(p.quiet_enabled());
  q->set_start(FormatClock(p.quiet_start_minute()));
  q->set_end(FormatClock(p.quiet_end_minute()));
  q->set_time_zone(p.time_zone().empty() ? "Europe/Berlin" : p.time_zone());
  return out;
}

absl::StatusOr<StoredPreferences> PreferencesFromApi(const nv1::NotificationPreferences& p) {
  StoredPreferences out;
  ChannelFromApi(p.inbox(), out.mutable_inbox());
  ChannelFromApi(p.push(), out.mutable_push());
  ChannelFromApi(p.email(), out.mutable_email());
  const auto& q = p.push_quiet_hours();
  out.set_quiet_enabled(q.enabled());
  const std::string start = q.start().empty() ? "22:00" : q.start();
  const std::string end = q.end().empty() ? "07:00" : q.end();
  auto s = ParseClock(start);
  if (!s) return InvalidField("push_quiet_hours.start", "must be a time HH:MM from 00:00 to 23:59");
  auto e = ParseClock(end);
  if (!e) return InvalidField("push_quiet_hours.end", "must be a time HH:MM from 00:00 to 23:59");
  if (q.enabled() && *s == *e)
    return InvalidField("push_quiet_hours.end", "must differ from start");
  const std::string zone = q.time_zone().empty() ? "Europe/Berlin" : q.time_zone();
  if (!IsSupportedTimeZone(zone)) {
    return InvalidField("push_quiet_hours.time_zone",
                        "not a supported time zone (e.g. Europe/Berlin)");
  }
  out.set_quiet_start_minute(*s);
  out.set_quiet_end_minute(*e);
  out.set_time_zone(zone);
  return out;
}

NotificationsService::NotificationsService(NotificationsDeps deps,
                                           std::unique_ptr<infra::BoundedExecutor> executor)
    : deps_(deps), executor_(std::move(executor)) {}

grpc::ServerUnaryReactor* NotificationsService::ListNotifications(
    grpc::CallbackServerContext* ctx, const nv1::ListNotificationsRequest* req,
    nv1::ListNotificationsResponse* response) {
  return StartWithoutBlocking(ctx, [=, this](grpc::ServerUnaryReactor* reactor) {
    StartListNotifications(ctx, req, response, reactor);
  });
}

void NotificationsService::StartListNotifications(grpc::CallbackServerContext* ctx,
                                                  const nv1::ListNotificationsRequest* req,
                                                  nv1::ListNotificationsResponse* response,
                                                  grpc::ServerUnaryReactor* reactor) {
  // A read: Authorize does not touch Redis here (only writes check the deleted-account marker).
  auto caller = deps_.authorizer.Authorize(*ctx, "ListNotifications");
  if (!caller.ok()) return reactor->Finish(infra::Done(ctx, caller.status()));
  auto page_size = PageSize(req->page_size());
  if (!page_size.ok()) return reactor->Finish(infra::Done(ctx, page_size.status()));
  if (!req->page_token().empty() && !infra::IsUlid(req->page_token())) {
    return reactor->Finish(
        infra::Done(ctx, InvalidField("page_token", "not a token from a previous page")));
  }
  // The reply arrives on the async client's I/O thread, which must not block: the answer is
  // built there from the entries (moved, not copied) and the call finished.
  deps_.stores.inbox.InboxAsync(
      caller->account_id, req->unread_only(), req->page_token(), *page_size + 1,
      [ctx, reactor, response,
       page_size = *page_size](absl::StatusOr<std::vector<InboxEntry>> entries) {
        if (!entries.ok()) return reactor->Finish(infra::Done(ctx, entries.status()));
        const bool more = static_cast<int>(entries->size()) > page_size;
        if (more) entries->resize(page_size);
        if (more) response->set_next_page_token(entries->back().notification.id());
        response->mutable_notifications()->Reserve(static_cast<int>(entries->size()));
        for (InboxEntry& e : *entries) ToApi(std::move(e), response->add_notifications());
        reactor->Finish(grpc::Status::OK);
      });
}

absl::Status NotificationsService::DoGetUnreadCount(grpc::ServerContextBase* ctx,
                                                    const nv1::GetUnreadCountRequest*,
                                                    nv1::UnreadCount* response) {
  ASSIGN_OR_RETURN(auto caller, deps_.authorizer.Authorize(*ctx, "GetUnreadCount"));
  ASSIGN_OR_RETURN(auto count, deps_.stores.inbox.UnreadCount(caller.account_id));
  response->set_count(count);
  return absl::OkStatus();
}

absl::Status NotificationsService::DoMarkRead(grpc::ServerContextBase* ctx,
                                              const nv1::MarkReadRequest* req,
                                              nv1::Notification* response) {
  ASSIGN_OR_RETURN(auto caller, deps_.authorizer.Authorize(*ctx, "MarkRead"));
  if (!infra::IsUlid(req->notification_id()))
    return InvalidField("notification_id", "not a notification id");
  RETURN_IF_ERROR(deps_.stores.inbox.MarkRead(caller.account_id, req->notification_id()));
  ASSIGN_OR_RETURN(auto entry, deps_.stores.inbox.Get(caller.account_id, req->notification_id()));
  ToApi(entry, response);
  return absl::OkStatus();
}

absl::Status NotificationsService::DoMarkAllRead(grpc::ServerContextBase* ctx,
                                                 const nv1::MarkAllReadRequest*,
                                                 nv1::UnreadCount* response) {
  ASSIGN_OR_RETURN(auto caller, deps_.authorizer.Authorize(*ctx, "MarkAllRead"));
  RETURN_IF_ERROR(deps_.stores.inbox.MarkAllRead(caller.account_id));
  response->set_count(0);
  return absl::OkStatus();
}

grpc::ServerWriteReactor<nv1::Notification>* NotificationsService::StreamNotifications(
    grpc::CallbackServerContext* ctx, const nv1::StreamNotificationsRequest* req) {
  // Admitted on a hub worker: authorization may block (a key refresh, a Redis check).
  return deps_.live.Open(
      ctx,
      [this, ctx, req]() -> Admission {
        auto caller = deps_.authorizer.Authorize(*ctx, "StreamNotifications");
        absl::Status problem = caller.status();
        if (problem.ok() && !req->after_id().empty() && !infra::IsUlid(req->after_id())) {
          problem = InvalidField("after_id", "not a notification id");
        }
        if (!problem.ok()) return {infra::Done(ctx, problem), ""};
        return {grpc::Status::OK, caller->account_id};
      },
      req->after_id());
}

absl::Status NotificationsService::DoRegisterDevice(grpc::ServerContextBase* ctx,
                                                    const nv1::RegisterDeviceRequest* req,
                                                    nv1::Device* response) {
  ASSIGN_OR_RETURN(auto caller, deps_.authorizer.Authorize(*ctx, "RegisterDevice"));
  if (req->platform() != "android" && req->platform() != "ios" && req->platform() != "web") {
    return InvalidField("platform", "must be android, ios or web");
  }
  if (req->push_token().empty()) return InvalidField("push_token", "must not be empty");
  if (req->push_token().size() > 4096)
    return InvalidField("push_token", "longer than 4096 characters");
  if (!IsPrintableAscii(req->push_token()))
    return InvalidField("push_token", "only printable ASCII");
  const auto now = deps_.clock.Now();
  StoredDevice d;
  d.set_id(infra::NewUlid(now));
  d.set_platform(req->platform());
  d.set_token(req->push_token());
  d.set_created_ms(infra::UnixMillis(now));
  RETURN_IF_ERROR(deps_.stores.devices.AddDevice(caller.account_id, d));
  DeviceToApi(d, response);
  return absl::OkStatus();
}

absl::Status NotificationsService::DoListDevices(grpc::ServerContextBase* ctx,
                                                 const nv1::ListDevicesRequest*,
                                                 nv1::ListDevicesResponse* response) {
  ASSIGN_OR_RETURN(auto caller, deps_.authorizer.Authorize(*ctx, "ListDevices"));
  ASSIGN_OR_RETURN(auto devices, deps_.stores.devices.Devices(caller.account_id));
  for (const auto& d : devices) DeviceToApi(d, response->add_devices());
  return absl::OkStatus();
}

absl::Status NotificationsService::DoDeleteDevice(grpc::ServerContextBase* ctx,
                                                  const nv1::DeleteDeviceRequest* req,
                                                  nv1::DeleteDeviceResponse*) {
  ASSIGN_OR_RETURN(auto caller, deps_.authorizer.Authorize(*ctx, "DeleteDevice"));
  if (!infra::IsUlid(req->device_id())) return InvalidField("device_id", "not a device id");
  return deps_.stores.devices.RemoveDevice(caller.account_id, req->device_id());
}

absl::Status NotificationsService::DoGetPreferences(grpc::ServerContextBase* ctx,
                                                    const nv1::GetPreferencesRequest*,
                                                    nv1::NotificationPreferences* response) {
  ASSIGN_OR_RETURN(auto caller, deps_.authorizer.Authorize(*ctx, "GetPreferences"));
  ASSIGN_OR_RETURN(auto prefs, deps_.stores.preferences.Preferences(caller.account_id));
  *response = PreferencesToApi(prefs.value_or(DefaultPreferences()));
  return absl::OkStatus();
}

absl::Status NotificationsService::DoUpdatePreferences(grpc::ServerContextBase* ctx,
                                                       const nv1::UpdatePreferencesRequest* req,
                                                       nv1::NotificationPreferences* response) {
  ASSIGN_OR_RETURN(auto caller, deps_.authorizer.Authorize(*ctx, "UpdatePreferences"));
  ASSIGN_OR_RETURN(auto prefs, PreferencesFromApi(req->preferences()));
  // A body without any channel (none, or {}) is a client's mistake, not a wish to switch every
  // channel off: refused. A channel left out of a body that names another is switched off.
  const auto& p = req->preferences();
  if (!p.has_inbox() && !p.has_push() && !p.has_email()) {
    return InvalidField("inbox", "is required (with push and email; a channel left out is off)");
  }
  RETURN_IF_ERROR(deps_.stores.preferences.SetPreferences(caller.account_id, prefs));
  *response = PreferencesToApi(prefs);
  return absl::OkStatus();
}

absl::Status NotificationsService::DoCreateWebhook(grpc::ServerContextBase* ctx,
                                                   const nv1::CreateWebhookRequest* req,
                                                   nv1::Webhook* response) {
  ASSIGN_OR_RETURN(auto caller, deps_.authorizer.Authorize(*ctx, "CreateWebhook"));
  const std::string& url = req->url();
  if (url.size() > 2048 || !IsPrintableAscii(url) ||
      !(url.starts_with("https://") || url.starts_with("http://")) ||
      url.find("://", 8) != std::string::npos || url.size() < 10) {
    return InvalidField("url", "must be an http(s) URL of at most 2048 characters");
  }
  if (auto allowed = deps_.webhook_destinations.CheckUrl(url); !allowed.ok())
    return InvalidField("url", infra::StdView(allowed.message()));
  if (req->event_types_size() == 0)
    return InvalidField("event_types", "must name at least one event type");
  for (const auto& t : req->event_types()) {
    if (t != "RequestCreated" && t != "RequestStatusChanged" && t != "CommentAdded" &&
        t != "RequestRerouted") {
      return InvalidField("event_types",
                          "each must be RequestCreated, RequestStatusChanged, CommentAdded or "
                          "RequestRerouted");
    }
  }
  if (req->service_codes_size() > 50) return InvalidField("service_codes", "at most 50");
  for (const auto& c : req->service_codes()) {
    if (c.empty() || c.size() > 64 || !IsPrintableAscii(c))
      return InvalidField("service_codes", "malformed");
  }
  const auto now = deps_.clock.Now();
  StoredWebhook w;
  w.set_id(infra::NewUlid(now));
  w.set_url(url);
  for (const auto& t : req->event_types()) w.add_event_types(t);
  for (const auto& c : req->service_codes()) w.add_service_codes(c);
  w.set_secret(infra::RandomToken(32));
  w.set_created_ms(infra::UnixMillis(now));
  RETURN_IF_ERROR(deps_.stores.webhooks.AddWebhook(w));
  WebhookToApi(w, true, response);
  return absl::OkStatus();
}

absl::Status NotificationsService::DoListWebhooks(grpc::ServerContextBase* ctx,
                                                  const nv1::ListWebhooksRequest*,
                                                  nv1::ListWebhooksResponse* response) {
  ASSIGN_OR_RETURN(auto caller, deps_.authorizer.Authorize(*ctx, "ListWebhooks"));
  ASSIGN_OR_RETURN(auto hooks, deps_.stores.webhooks.Webhooks());
  for (const auto& w : hooks) WebhookToApi(w, false, response->add_webhooks());
  return absl::OkStatus();
}

absl::Status NotificationsService::DoGetWebhook(grpc::ServerContextBase* ctx,
                                                const nv1::GetWebhookRequest* req,
                                                nv1::Webhook* response) {
  ASSIGN_OR_RETURN(auto caller, deps_.authorizer.Authorize(*ctx, "GetWebhook"));
  if (!infra::IsUlid(req->webhook_id())) return InvalidField("webhook_id", "not a webhook id");
  ASSIGN_OR_RETURN(auto w, deps_.stores.webhooks.Webhook(req->webhook_id()));
  WebhookToApi(w, false, response);
  return absl::OkStatus();
}

absl::Status NotificationsService::DoDeleteWebhook(grpc::ServerContextBase* ctx,
                                                   const nv1::DeleteWebhookRequest* req,
                                                   nv1::DeleteWebhookResponse*) {
  ASSIGN_OR_RETURN(auto caller, deps_.authorizer.Authorize(*ctx, "DeleteWebhook"));
  if (!infra::IsUlid(req->webhook_id())) return InvalidField("webhook_id", "not a webhook id");
  return deps_.stores.webhooks.RemoveWebhook(req->webhook_id());
}

absl::Status NotificationsService::DoExportUserData(grpc::ServerContextBase* ctx,
                                                    const nv1::ExportUserDataRequest* req,
                                                    nv1::UserDataExport* response) {
  ASSIGN_OR_RETURN(auto caller, deps_.authorizer.Authorize(*ctx, "ExportUserData"));
  if (!infra::IsUlid(req->account_id())) return InvalidField("account_id", "not an account id");
  std::string before;
  while (true) {
    ASSIGN_OR_RETURN(auto entries, deps_.stores.inbox.Inbox(req->account_id(), false, before, 100));
    if (entries.empty()) break;
    for (const auto& e : entries) ToApi(e, response->add_notifications());
    before = entries.back().notification.id();
  }
  ASSIGN_OR_RETURN(auto devices, deps_.stores.devices.Devices(req->account_id()));
  for (const auto& d : devices) DeviceToApi(d, response->add_devices());
  ASSIGN_OR_RETURN(auto prefs, deps_.stores.preferences.Preferences(req->account_id()));
  *response->mutable_preferences() = PreferencesToApi(prefs.value_or(DefaultPreferences()));
  return absl::OkStatus();
}

}  // namespace cityhub::notifications
