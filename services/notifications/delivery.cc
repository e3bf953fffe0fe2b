#include "services/notifications/delivery.h"

#include <cmath>

#include "cityhub/notifications/v1/notifications.pb.h"
#include "infra/log.h"
#include "services/notifications/metrics.h"

namespace cityhub::notifications {

namespace nv1 = cityhub::notifications::v1;

namespace {

const char* ChannelName(int channel) {
  return channel == nv1::CHANNEL_PUSH    ? "push"
         : channel == nv1::CHANNEL_EMAIL ? "email"
                                         : "webhook";
}

}  // namespace

Delivery::Delivery(infra::redis::Client& redis, Stores& stores, DeliveryOptions options,
                   const infra::Clock& clock, infra::MetricsRegistry& metrics)
    : stores_(stores),
      queue_(redis),
      options_(std::move(options)),
      clock_(clock),
      push_(PushSettings{options_.push_endpoint, options_.push_token, options_.timeout}),
      mail_(MailSettings{options_.smtp_url, options_.smtp_user, options_.smtp_password,
                         options_.mail_from, options_.timeout}),
      webhook_(stores.webhooks, options_.webhook_destinations, clock, options_.timeout),
      outcomes_(NotificationsMetrics(metrics).deliveries),
      rng_(std::random_device{}()) {}

std::chrono::milliseconds Delivery::Backoff(int attempts) {
  // Exponential with "equal jitter": between half and all of base * 2^(attempts-1), capped, so
  // that retries of many jobs spread out but none comes back at once.
  const double ceiling = std::min<double>(
      options_.backoff_max.count(), options_.backoff_base.count() * std::pow(2.0, attempts - 1));
  std::lock_guard lock(rng_mu_);
  std::uniform_real_distribution<double> jitter(0.5, 1.0);
  return std::chrono::milliseconds(static_cast<int64_t>(ceiling * jitter(rng_)));
}

void Delivery::Record(const StoredJob& job, int state, std::string_view reason) {
  if (job.notification_id().empty()) return;
  (void)stores_.inbox.SetDelivery(job.notification_id(), job.channel(), state, job.attempts(),
                                  reason, infra::UnixMillis(clock_.Now()));
}

bool Delivery::RunOne() {
  auto claimed = queue_.Claim(infra::UnixMillis(clock_.Now()), options_.lease);
  if (!claimed.ok() || !claimed->has_value()) return false;
  const std::string id = (*claimed)->id;
  StoredJob job;
  if (!job.ParseFromString((*claimed)->data)) {
    (void)queue_.Drop(id, std::nullopt);
    return true;
  }
  if (job.channel() == nv1::CHANNEL_PUSH && !job.device_id().empty()) {
    // A push waits (quiet hours, retries) with the token it was made for; a device removed
    // meanwhile gets nothing.
    auto registered = stores_.devices.HasDevice(job.account_id(), job.device_id());
    if (!registered.ok()) return false;  // the lease runs out and the job comes back
    if (!*registered) {
      (void)queue_.Drop(id, job.account_id());
      Record(job, nv1::DELIVERY_STATE_SKIPPED, "the device was removed");
      return true;
    }
  }
  job.set_attempts(job.attempts() + 1);
  const Outcome outcome = Attempt(job);
  const std::string channel = ChannelName(job.channel());
  if (outcome.kind == Outcome::kSent) {
    outcomes_.WithLabels({channel, "sent"}).Inc();
    (void)queue_.Drop(id, job.account_id());
    Record(job, nv1::DELIVERY_STATE_SENT, "");
    return true;
  }
  if (outcome.unregistered && !job.device_id().empty()) {
    (void)stores_.devices.RemoveDevice(job.account_id(), job.device_id());
  }
  if (outcome.kind == Outcome::kRetry && job.attempts() < options_.max_attempts) {
    outcomes_.WithLabels({channel, "retry"}).Inc();
    const auto wait = Backoff(job.attempts());
    (void)queue_.Retry(id, job, infra::UnixMillis(clock_.Now()) + wait.count());
    Record(job, nv1::DELIVERY_STATE_PENDING, outcome.reason);
    return true;
  }
  // Given up: the job goes to the dead-letter stream with its reason (no personal data: ids only).
  outcomes_.WithLabels({channel, "failed"}).Inc();
  (void)queue_.GiveUp(id, job, channel, outcome.reason);
  Record(job, nv1::DELIVERY_STATE_FAILED, outcome.reason);
  infra::log::Warn("delivery_failed",
                   {{"job_id", id}, {"channel", channel}, {"reason", outcome.reason}});
  return true;
}

Outcome Delivery::Attempt(const StoredJob& job) {
  switch (job.channel()) {
    case nv1::CHANNEL_PUSH:
      return push_.Send(job);
    case nv1::CHANNEL_EMAIL:
      return mail_.Send(job);
    default:
      return webhook_.Send(job);
  }
}

}  // namespace cityhub::notifications
