#pragma once

#include <string>

#include "absl/status/status.h"
#include "cityhub/events/v1/events.pb.h"
#include "cityhub/notifications/v1/notifications.pb.h"
#include "infra/clock.h"
#include "services/notifications/contacts.h"
#include "services/notifications/reporter_mails.h"
#include "services/notifications/stores.h"

// Turns domain events into notifications: who is told (owner, followers, operators of the
// department, the account holder), what they read (in their language), and on which channels
// (by their preferences, with quiet hours for push). Each event's effects are written at once
// and only once, however often the event is delivered.
namespace cityhub::notifications {

struct FanOutSettings {
  // Where links in mails and pushes point, e.g. "https://mein.bielefeld.de".
  std::string app_url = "http://127.0.0.1:8080";
};

// Defaults for accounts that never set preferences: inbox, push and e-mail for their own and
// followed requests; department news in the inbox only; no quiet hours.
StoredPreferences DefaultPreferences();

class FanOut final {
 public:
  // `reporters` (null: anonymous reporters get no mails) asks the requests service for what a
  // mail to an anonymous reporter needs.
  FanOut(Stores& store, Contacts& contacts, ReporterMails* reporters, const infra::Clock& clock,
         FanOutSettings settings);

  // Handles one event (serialized cityhub.events.v1.Event). Errors (e.g. the accounts service
  // is unreachable) leave it for a retry; nothing is half-done.
  absl::Status Handle(const std::string& payload);

 private:
  struct Recipient {
    std::string account_id;
    cityhub::notifications::v1::Kind kind;
  };
  // Staff hid a comment: its text leaves the inbox entries it was copied to, and the mails,
  // pushes and webhook calls not yet sent with it are dropped.
  absl::Status HideCommentCopies(const cityhub::events::v1::Event& event);
  // New work for `department`'s operators (a new or rerouted request), and the webhooks.
  absl::Status NotifyDepartment(const cityhub::events::v1::Event& event,
                                const std::string& department, const std::string& request_id,
                                const std::string& service_code);
  absl::Status NotifyAndApply(const cityhub::events::v1::Event& event,
                              const std::vector<Recipient>& recipients, const Audience& audience,
                              const std::string& request_id, const std::string& service_code);
  absl::Status Notify(const cityhub::events::v1::Event& event,
                      const std::vector<Recipient>& recipients, const FanOutDetails& details,
                      const std::string& request_id, EventEffects* effects);
  void AddWebhookJobs(const cityhub::events::v1::Event& event, const std::string& service_code,
                      const std::vector<StoredWebhook>& hooks, EventEffects* effects);
  // Mails to anonymous reporters (#14): the confirmation, and a public change of their request
  // (added to `effects`, written with the event's other effects).
  absl::Status ReporterConfirmation(const cityhub::events::v1::Event& event);
  absl::Status AddReporterUpdate(const cityhub::events::v1::Event& event, EventEffects* effects);
  absl::Status AccountMail(const cityhub::events::v1::Event& event, const std::string& account_id,
                           bool reset, const std::string& token);

  Stores& store_;
  Contacts& contacts_;
  ReporterMails* reporters_;
  const infra::Clock& clock_;
  FanOutSettings settings_;
};

}  // namespace cityhub::notifications
