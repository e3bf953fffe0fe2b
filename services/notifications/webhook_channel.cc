#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "infra/ids.h"
#include "infra/log.h"
#include "infra/strings.h"
#include "services/notifications/channels.h"
#include "services/notifications/http_post.h"

namespace cityhub::notifications {

using infra::StrCat;

std::string WebhookSignature(std::string_view secret, int64_t timestamp, std::string_view body) {
  const std::string message = StrCat(timestamp, ".", body);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac, &len);
  return infra::HexEncode(std::string_view(reinterpret_cast<const char*>(mac), len));
}

Outcome WebhookChannel::Send(const StoredJob& job) {
  // A subscription deleted since the job was queued gets nothing more, retries included.
  auto hook = webhooks_.Webhook(job.webhook_id());
  if (!hook.ok()) {
    if (hook.status().code() == absl::StatusCode::kNotFound)
      return {Outcome::kGiveUp, "webhook deleted", false};
    return {Outcome::kRetry, "webhook unreadable", false};
  }
  const int64_t ts = infra::UnixMillis(clock_.Now()) / 1000;
  const std::vector<std::string> headers = {
      "Content-Type: application/json", StrCat("X-Cityhub-Event: ", job.event_type()),
      StrCat("X-Cityhub-Delivery: ", job.id()), StrCat("X-Cityhub-Timestamp: ", ts),
      StrCat("X-Cityhub-Signature: sha256=", WebhookSignature(job.secret(), ts, job.body()))};
  const HttpResult r = Post(job.url(), job.body(), headers, timeout_, &destinations_);
  if (r.code != CURLE_OK && r.refused) {
    // Given up at once, with a reason that tells nothing about what is behind the address; the
    // detail is for the operator's log.
    infra::log::Warn("webhook_destination_refused",
                     {{"webhook_id", job.webhook_id()}, {"address", r.refused_address}});
    return {Outcome::kGiveUp, "destination not allowed", false};
  }
  if (r.code != CURLE_OK)
    return {Outcome::kRetry, StrCat("receiver unreachable: ", r.error), false};
  if (r.status >= 200 && r.status < 300) return {Outcome::kSent, "", false};
  if (r.status == 408 || r.status == 429 || r.status >= 500) {
    return {Outcome::kRetry, StrCat("receiver answered ", r.status), false};
  }
  return {Outcome::kGiveUp, StrCat("receiver refused: ", r.status), false};
}

}  // namespace cityhub::notifications
