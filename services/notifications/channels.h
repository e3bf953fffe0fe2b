#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "cityhub/storage/notifications.pb.h"
#include "infra/clock.h"
#include "services/notifications/destination_policy.h"
#include "services/notifications/webhook_store.h"

// The ways a delivery job goes out: push (FCM v1 over HTTP), mail (SMTP) and webhooks (signed
// HTTP POSTs). Each attempt is one blocking call on a delivery worker, bounded by a timeout.
namespace cityhub::notifications {

using cityhub::storage::notifications::StoredJob;

// What one delivery attempt came to.
struct Outcome {
  enum Kind { kSent, kRetry, kGiveUp } kind = kSent;
  std::string reason;
  // Push only: the provider says the token is gone; the device is removed.
  bool unregistered = false;
};

class Channel {
 public:
  virtual ~Channel() = default;
  // One attempt, no bookkeeping.
  virtual Outcome Send(const StoredJob& job) = 0;
};

struct PushSettings {
  // Where FCM v1 JSON is POSTed; empty disables push. The bearer token, if any.
  std::string endpoint;
  std::string token;
  std::chrono::milliseconds timeout{std::chrono::seconds(10)};
};

class PushChannel final : public Channel {
 public:
  explicit PushChannel(PushSettings settings) : settings_(std::move(settings)) {}
  Outcome Send(const StoredJob& job) override;

 private:
  PushSettings settings_;
};

struct MailSettings {
  // smtp://host:port (smtps:// for implicit TLS); STARTTLS is used when offered. Empty: off.
  std::string url;
  std::string user;
  std::string password;
  std::string from;
  std::chrono::milliseconds timeout{std::chrono::seconds(10)};
};

class MailChannel final : public Channel {
 public:
  explicit MailChannel(MailSettings settings) : settings_(std::move(settings)) {}
  Outcome Send(const StoredJob& job) override;

 private:
  MailSettings settings_;
};

// HMAC-SHA256 of "<timestamp>.<body>" as lower-case hex: the webhook signature.
std::string WebhookSignature(std::string_view secret, int64_t timestamp, std::string_view body);

class WebhookChannel final : public Channel {
 public:
  // Every address a webhook connects to is checked against `destinations`.
  WebhookChannel(WebhookStore& webhooks, const DestinationPolicy& destinations,
                 const infra::Clock& clock, std::chrono::milliseconds timeout)
      : webhooks_(webhooks), destinations_(destinations), clock_(clock), timeout_(timeout) {}
  Outcome Send(const StoredJob& job) override;

 private:
  WebhookStore& webhooks_;
  const DestinationPolicy& destinations_;
  const infra::Clock& clock_;
  std::chrono::milliseconds timeout_;
};

}  // namespace cityhub::notifications
