#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "infra/clock.h"
#include "infra/metrics.h"
#include "infra/redis/client.h"
#include "services/notifications/destination_policy.h"
#include "services/notifications/notification_store.h"

// Delivery of push messages, e-mails and webhooks from a queue in Redis:
//
//   notifications:jobs         ZSET   job id → due time (ms); a taken job is pushed a lease ahead
//   notifications:job:{id}     STRING StoredJob
//   notifications:dead         STREAM jobs given up on, with the reason
//
// Workers take due jobs, deliver them with libcurl, and on failure retry with exponential
// backoff and jitter until max_attempts, then dead-letter them. A worker that dies holding a
// job loses only its lease: the job comes due again.
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

// What one delivery attempt came to.
struct Outcome {
  enum Kind { kSent, kRetry, kGiveUp } kind = kSent;
  std::string reason;
  // Push only: the provider says the token is gone; the device is removed.
  bool unregistered = false;
};

// HMAC-SHA256 of "<timestamp>.<body>" as lower-case hex: the webhook signature.
std::string WebhookSignature(std::string_view secret, int64_t timestamp, std::string_view body);

class Delivery final {
 public:
  Delivery(infra::redis::Client& redis, NotificationStore& store, DeliveryOptions options,
           const infra::Clock& clock, infra::MetricsRegistry& metrics);
  ~Delivery();

  void Start();
  void Stop();

  // Takes one due job and works on it; false when none was due (tests drive this directly).
  bool RunOne();

  // One attempt, no bookkeeping (exposed for tests).
  Outcome Attempt(const StoredJob& job);

  // The wait before attempt `attempts` + 1: base * 2^(attempts-1) capped at the maximum, of
  // which a random half to all (exposed for tests).
  std::chrono::milliseconds Backoff(int attempts);

 private:
  Outcome SendPush(const StoredJob& job);
  Outcome SendMail(const StoredJob& job);
  Outcome SendWebhook(const StoredJob& job);

  infra::redis::Client& redis_;
  NotificationStore& store_;
  DeliveryOptions options_;
  const infra::Clock& clock_;
  infra::Family<infra::Counter>& outcomes_;
  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;
  std::mutex rng_mu_;
  std::mt19937_64 rng_;
};

}  // namespace cityhub::notifications
