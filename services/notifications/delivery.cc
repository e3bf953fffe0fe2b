#include "services/notifications/delivery.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sys/socket.h>
#include <cmath>
#include <cstring>

#include <nlohmann/json.hpp>

#include "cityhub/notifications/v1/notifications.pb.h"
#include "infra/ids.h"
#include "infra/log.h"
#include "infra/strings.h"

namespace cityhub::notifications {

namespace nv1 = cityhub::notifications::v1;
using infra::StrAppend;
using infra::StrCat;
using infra::redis::Script;

namespace {

constexpr char kJobs[] = "notifications:jobs";
constexpr char kDead[] = "notifications:dead";
std::string JobKey(std::string_view id) { return StrCat("notifications:job:{", id, "}"); }

const Script& ClaimScript() {
  // KEYS: the queue. ARGV: now, lease, job key prefix. Returns {id, data} or nil.
  static const Script script(R"lua(
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 1)
if #due == 0 then return false end
local id = due[1]
local data = redis.call('GET', ARGV[3] .. id .. '}')
if not data then
  redis.call('ZREM', KEYS[1], id)
  return false
end
redis.call('ZADD', KEYS[1], tonumber(ARGV[1]) + tonumber(ARGV[2]), id)
return {id, data}
)lua");
  return script;
}

size_t Collect(char* data, size_t size, size_t count, void* user) {
  auto* out = static_cast<std::string*>(user);
  if (out->size() < 64 * 1024) out->append(data, std::min(size * count, 64 * 1024 - out->size()));
  return size * count;
}

struct HttpResult {
  CURLcode code = CURLE_OK;
  long status = 0;
  std::string body;
  std::string error;
  // A connection the destination policy refused (the address is in `refused_address`).
  bool refused = false;
  std::string refused_address;
};

struct Guard {
  const DestinationPolicy* policy;
  HttpResult* result;
};

// Every socket curl opens for a transfer comes here with the address it will connect to, after
// resolution: the check is on the address actually connected to, so a name that resolves (or
// is rebound) to an internal address gets no connection at all.
curl_socket_t OpenCheckedSocket(void* user, curlsocktype purpose, curl_sockaddr* address) {
  auto* guard = static_cast<Guard*>(user);
  if (purpose != CURLSOCKTYPE_IPCXN ||
      !guard->policy->Allows(&address->addr, static_cast<size_t>(address->addrlen))) {
    char text[INET6_ADDRSTRLEN] = "?";
    const void* raw =
        address->family == AF_INET6
            ? static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(&address->addr)->sin6_addr)
            : static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(&address->addr)->sin_addr);
    inet_ntop(address->family, raw, text, sizeof(text));
    guard->result->refused = true;
    guard->result->refused_address = text;
    return CURL_SOCKET_BAD;
  }
  return socket(address->family, address->socktype, address->protocol);
}

// A POST; with a `policy`, only to addresses it allows, with no proxy from the environment.
HttpResult Post(const std::string& url, const std::string& body,
                const std::vector<std::string>& headers, std::chrono::milliseconds timeout,
                const DestinationPolicy* policy = nullptr) {
  HttpResult r;
  Guard guard{policy, &r};
  CURL* curl = curl_easy_init();
  curl_slist* list = nullptr;
  for (const auto& h : headers) list = curl_slist_append(list, h.c_str());
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_POST, 1L);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, Collect);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &r.body);
  if (policy != nullptr) {
    // "" turns proxies off, http_proxy and friends included: a proxy would be the address
    // checked, and the destination behind it would not.
    curl_easy_setopt(curl, CURLOPT_PROXY, "");
    curl_easy_setopt(curl, CURLOPT_OPENSOCKETFUNCTION, OpenCheckedSocket);
    curl_easy_setopt(curl, CURLOPT_OPENSOCKETDATA, &guard);
  }
  r.code = curl_easy_perform(curl);
  if (r.code == CURLE_OK) {
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r.status);
  } else {
    r.error = curl_easy_strerror(r.code);
  }
  curl_slist_free_all(list);
  curl_easy_cleanup(curl);
  return r;
}

std::string Base64(std::string_view data) {
  std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(data.data()),
                                static_cast<int>(data.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

// Base64 in lines of 76 characters, as MIME wants it.
std::string Base64Lines(std::string_view data) {
  const std::string b = Base64(data);
  std::string out;
  for (size_t i = 0; i < b.size(); i += 76) StrAppend(&out, b.substr(i, 76), "\r\n");
  return out;
}

// The address inside "Name <addr>", or the text itself.
std::string Address(std::string_view from) {
  const size_t lt = from.find('<');
  const size_t gt = from.find('>');
  if (lt != std::string_view::npos && gt != std::string_view::npos && gt > lt) {
    return std::string(from.substr(lt + 1, gt - lt - 1));
  }
  return std::string(from);
}

std::string RfcDate() {
  char buf[64];
  const time_t now = time(nullptr);
  tm t{};
  gmtime_r(&now, &t);
  strftime(buf, sizeof(buf), "%a, %d %b %Y %H:%M:%S +0000", &t);
  return buf;
}

struct Upload {
  std::string data;
  size_t at = 0;
};

size_t Feed(char* buffer, size_t size, size_t count, void* user) {
  auto* u = static_cast<Upload*>(user);
  const size_t n = std::min(size * count, u->data.size() - u->at);
  std::memcpy(buffer, u->data.data() + u->at, n);
  u->at += n;
  return n;
}

}  // namespace

std::string WebhookSignature(std::string_view secret, int64_t timestamp, std::string_view body) {
  const std::string message = StrCat(timestamp, ".", body);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac, &len);
  return infra::HexEncode(std::string_view(reinterpret_cast<const char*>(mac), len));
}

Delivery::Delivery(infra::redis::Client& redis, NotificationStore& store, DeliveryOptions options,
                   const infra::Clock& clock, infra::MetricsRegistry& metrics)
    : redis_(redis),
      store_(store),
      options_(std::move(options)),
      clock_(clock),
      outcomes_(metrics.AddCounter("notifications_deliveries_total",
                                   "Delivery attempts by channel and outcome",
                                   {"channel", "outcome"})),
      rng_(std::random_device{}()) {}

Delivery::~Delivery() { Stop(); }

void Delivery::Start() {
  stop_.store(false);
  for (int i = 0; i < options_.workers; ++i) {
    threads_.emplace_back([this] {
      while (!stop_.load()) {
        if (!RunOne()) std::this_thread::sleep_for(options_.idle_poll);
      }
    });
  }
}

void Delivery::Stop() {
  stop_.store(true);
  for (auto& t : threads_) t.join();
  threads_.clear();
}

std::chrono::milliseconds Delivery::Backoff(int attempts) {
  // Exponential with "equal jitter": between half and all of base * 2^(attempts-1), capped, so
  // that retries of many jobs spread out but none comes back at once.
  const double ceiling = std::min<double>(
      options_.backoff_max.count(), options_.backoff_base.count() * std::pow(2.0, attempts - 1));
  std::lock_guard lock(rng_mu_);
  std::uniform_real_distribution<double> jitter(0.5, 1.0);
  return std::chrono::milliseconds(static_cast<int64_t>(ceiling * jitter(rng_)));
}

bool Delivery::RunOne() {
  const int64_t now = infra::UnixMillis(clock_.Now());
  auto claimed = redis_.Eval(
      ClaimScript(), {kJobs},
      {std::to_string(now), std::to_string(options_.lease.count()), "notifications:job:{"});
  if (!claimed.ok() || !claimed->is_array()) return false;
  const std::string id = claimed->elements()[0].str();
  StoredJob job;
  if (!job.ParseFromString(claimed->elements()[1].str())) {
    (void)redis_.Pipeline({{"ZREM", kJobs, id}, {"DEL", JobKey(id)}});
    return true;
  }
  const std::string done_ops_account = StrCat("notifications:jobs_of:{", job.account_id(), "}");
  if (job.channel() == nv1::CHANNEL_PUSH && !job.device_id().empty()) {
    // A push waits (quiet hours, retries) with the token it was made for; a device removed
    // meanwhile gets nothing.
    auto registered = store_.HasDevice(job.account_id(), job.device_id());
    if (!registered.ok()) return false;  // the lease runs out and the job comes back
    if (!*registered) {
      (void)redis_.Pipeline(
          {{"ZREM", kJobs, id}, {"DEL", JobKey(id)}, {"SREM", done_ops_account, id}});
      if (!job.notification_id().empty()) {
        (void)store_.SetDelivery(job.notification_id(), job.channel(), nv1::DELIVERY_STATE_SKIPPED,
                                 job.attempts(), "the device was removed",
                                 infra::UnixMillis(clock_.Now()));
      }
      return true;
    }
  }
  job.set_attempts(job.attempts() + 1);
  const Outcome outcome = Attempt(job);
  const std::string channel = job.channel() == nv1::CHANNEL_PUSH    ? "push"
                              : job.channel() == nv1::CHANNEL_EMAIL ? "email"
                                                                    : "webhook";
  const int64_t after = infra::UnixMillis(clock_.Now());
  if (outcome.kind == Outcome::kSent) {
    outcomes_.WithLabels({channel, "sent"}).Inc();
    (void)redis_.Pipeline(
        {{"ZREM", kJobs, id}, {"DEL", JobKey(id)}, {"SREM", done_ops_account, id}});
    if (!job.notification_id().empty()) {
      (void)store_.SetDelivery(job.notification_id(), job.channel(), nv1::DELIVERY_STATE_SENT,
                               job.attempts(), "", after);
    }
    return true;
  }
  if (outcome.unregistered && !job.device_id().empty()) {
    (void)store_.RemoveDevice(job.account_id(), job.device_id());
  }
  if (outcome.kind == Outcome::kRetry && job.attempts() < options_.max_attempts) {
    outcomes_.WithLabels({channel, "retry"}).Inc();
    const auto wait = Backoff(job.attempts());
    // XX: only a job still there is written back. If the account was erased (or the job
    // dropped) during the attempt, writing it would bring its address or token back; the queue
    // entry then finds no job and the claim removes it.
    (void)redis_.Pipeline({{"SET", JobKey(id), job.SerializeAsString(), "XX"},
                           {"ZADD", kJobs, std::to_string(after + wait.count()), id}});
    if (!job.notification_id().empty()) {
      (void)store_.SetDelivery(job.notification_id(), job.channel(), nv1::DELIVERY_STATE_PENDING,
                               job.attempts(), outcome.reason, after);
    }
    return true;
  }
  // Given up: the job goes to the dead-letter stream with its reason (no personal data: ids only).
  outcomes_.WithLabels({channel, "failed"}).Inc();
  (void)redis_.Pipeline(
      {{"XADD", kDead, "MAXLEN", "~", "100000", "*", "job_id", id, "channel", channel,
        "notification_id", job.notification_id(), "webhook_id", job.webhook_id(), "attempts",
        std::to_string(job.attempts()), "reason", outcome.reason},
       {"ZREM", kJobs, id},
       {"DEL", JobKey(id)},
       {"SREM", done_ops_account, id}});
  if (!job.notification_id().empty()) {
    (void)store_.SetDelivery(job.notification_id(), job.channel(), nv1::DELIVERY_STATE_FAILED,
                             job.attempts(), outcome.reason, after);
  }
  infra::log::Warn("delivery_failed",
                   {{"job_id", id}, {"channel", channel}, {"reason", outcome.reason}});
  return true;
}

Outcome Delivery::Attempt(const StoredJob& job) {
  switch (job.channel()) {
    case nv1::CHANNEL_PUSH:
      return SendPush(job);
    case nv1::CHANNEL_EMAIL:
      return SendMail(job);
    default:
      return SendWebhook(job);
  }
}

Outcome Delivery::SendPush(const StoredJob& job) {
  if (options_.push_endpoint.empty()) return {Outcome::kGiveUp, "push is not configured", false};
  nlohmann::json data = nlohmann::json::object();
  for (const auto& [k, v] : job.data()) data[k] = v;
  const nlohmann::json message = {
      {"message",
       {{"token", job.push_token()},
        {"notification", {{"title", job.title()}, {"body", job.text()}}},
        {"data", data},
        {"android", {{"priority", "high"}}},
        {"apns", {{"headers", {{"apns-priority", "10"}}}}}}}};
  std::vector<std::string> headers = {"Content-Type: application/json; charset=UTF-8"};
  if (!options_.push_token.empty())
    headers.push_back("Authorization: Bearer " + options_.push_token);
  const HttpResult r = Post(options_.push_endpoint, message.dump(), headers, options_.timeout);
  if (r.code != CURLE_OK)
    return {Outcome::kRetry, StrCat("push provider unreachable: ", r.error), false};
  if (r.status >= 200 && r.status < 300) return {Outcome::kSent, "", false};
  if (r.status == 404 || r.body.find("UNREGISTERED") != std::string::npos) {
    return {Outcome::kGiveUp, "push token unregistered", true};
  }
  if (r.status == 429 || r.status >= 500)
    return {Outcome::kRetry, StrCat("push provider answered ", r.status), false};
  return {Outcome::kGiveUp, StrCat("push provider refused: ", r.status), false};
}

Outcome Delivery::SendMail(const StoredJob& job) {
  if (options_.smtp_url.empty()) return {Outcome::kGiveUp, "e-mail is not configured", false};
  if (job.to().find_first_of("\r\n<>") != std::string::npos)
    return {Outcome::kGiveUp, "bad recipient", false};
  const std::string boundary = StrCat("cityhub-", job.id());
  Upload upload;
  upload.data = StrCat(
      "Date: ", RfcDate(), "\r\nFrom: ", options_.mail_from, "\r\nTo: <", job.to(),
      ">\r\nSubject: =?UTF-8?B?", Base64(job.title()), "?=\r\nMessage-ID: <", job.id(),
      "@cityhub>\r\nMIME-Version: 1.0\r\nAuto-Submitted: auto-generated\r\n"
      "Content-Type: multipart/alternative; boundary=\"",
      boundary, "\"\r\n\r\n--", boundary,
      "\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: base64\r\n\r\n",
      Base64Lines(job.text()), "--", boundary,
      "\r\nContent-Type: text/html; charset=UTF-8\r\nContent-Transfer-Encoding: base64\r\n\r\n",
      Base64Lines(job.html()), "--", boundary, "--\r\n");
  CURL* curl = curl_easy_init();
  curl_slist* rcpt = curl_slist_append(nullptr, StrCat("<", job.to(), ">").c_str());
  const std::string from = StrCat("<", Address(options_.mail_from), ">");
  curl_easy_setopt(curl, CURLOPT_URL, options_.smtp_url.c_str());
  curl_easy_setopt(curl, CURLOPT_MAIL_FROM, from.c_str());
  curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, rcpt);
  curl_easy_setopt(curl, CURLOPT_READFUNCTION, Feed);
  curl_easy_setopt(curl, CURLOPT_READDATA, &upload);
  curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
  // STARTTLS when the server offers it; with credentials it is required, so that a server
  // (or someone in between) that does not offer it never sees the password.
  curl_easy_setopt(curl, CURLOPT_USE_SSL,
                   static_cast<long>(options_.smtp_user.empty() ? CURLUSESSL_TRY : CURLUSESSL_ALL));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.timeout.count()));
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  if (!options_.smtp_user.empty()) {
    curl_easy_setopt(curl, CURLOPT_USERNAME, options_.smtp_user.c_str());
    curl_easy_setopt(curl, CURLOPT_PASSWORD, options_.smtp_password.c_str());
  }
  const CURLcode code = curl_easy_perform(curl);
  long reply = 0;  // the server's last SMTP reply code
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply);
  curl_slist_free_all(rcpt);
  curl_easy_cleanup(curl);
  if (code == CURLE_OK) return {Outcome::kSent, "", false};
  // The recipient's mailbox refused (no such mailbox, not here, bad address): asking again would
  // only be refused again. Other failures, 5xx included (530/535: our credentials, 554: a
  // refused session), are the server's or ours to fix, and retried.
  if (reply == 550 || reply == 551 || reply == 553) {
    return {Outcome::kGiveUp, StrCat("mail server refused: ", reply), false};
  }
  return {Outcome::kRetry, StrCat("mail server: ", curl_easy_strerror(code)), false};
}

Outcome Delivery::SendWebhook(const StoredJob& job) {
  // A subscription deleted since the job was queued gets nothing more, retries included.
  auto hook = store_.Webhook(job.webhook_id());
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
  const HttpResult r =
      Post(job.url(), job.body(), headers, options_.timeout, &options_.webhook_destinations);
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
