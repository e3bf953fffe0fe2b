#pragma once

#include <chrono>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "infra/clock.h"
#include "infra/metrics.h"
#include "infra/redis/client.h"
#include "services/notifications/channels.h"
#include "services/notifications/destination_policy.h"
#include "services/notifications/job_queue_store.h"
#include "services/notifications/stores.h"

// Delivery of push messages, e-mails and webhooks from the job queue (job_queue_store.h):
// workers take due jobs, hand them to their channel (channels.h), and on failure retry with
// exponential backoff and jitter until max_attempts, then dead-letter them.
namespace cityhub::notifications {

struct DeliveryOptions {
  // E-mail: smtp://host:port (smtps:// for implicit TLS); STARTTLS is used when offered.
  std::string smtp_url;
  std::string smtp_user;
  std::string smtp_password;
  std::string mail_from = "Stadt Bielefeld <noreply@bielefeld.de>";
  // Push: where FCM v1 JSON is POSTed; empty disables push. The bearer token, if any.
  std::string push_endpoint;
  std::string push_token;
  // Where webhooks may go: every address a webhook connects to is checked (destination_policy.h).
  DestinationPolicy webhook_destinations;
  int workers = 4;
  int max_attempts = 6;
  std::chrono::milliseconds backoff_base{2000};
  std::chrono::milliseconds backoff_max{std::chrono::minutes(10)};
  std::chrono::milliseconds lease{std::chrono::seconds(60)};
  std::chrono::milliseconds timeout{std::chrono::seconds(10)};
  std::chrono::milliseconds idle_poll{200};
};

class Delivery final {
 public:
  Delivery(infra::redis::Client& redis, Stores& stores, DeliveryOptions options,
           const infra::Clock& clock, infra::MetricsRegistry& metrics);

  // Takes one due job and works on it; false when none was due. The delivery workers
  // (components.h) call it in a loop; tests drive it directly.
  bool RunOne();

  // One attempt, no bookkeeping (exposed for tests).
  Outcome Attempt(const StoredJob& job);

  // The wait before attempt `attempts` + 1: base * 2^(attempts-1) capped at the maximum, of
  // which a random half to all (exposed for tests).
  std::chrono::milliseconds Backoff(int attempts);

 private:
  // Records the state of the job's delivery beside its inbox entry, if it has one.
  void Record(const StoredJob& job, int state, std::string_view reason);

  Stores& stores_;
  JobQueueStore queue_;
  DeliveryOptions options_;
  const infra::Clock& clock_;
  PushChannel push_;
  MailChannel mail_;
  WebhookChannel webhook_;
  infra::Family<infra::Counter>& outcomes_;
  std::mutex rng_mu_;
  std::mt19937_64 rng_;
};

}  // namespace cityhub::notifications
