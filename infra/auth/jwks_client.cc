#include "infra/auth/jwks_client.h"

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>

#include "cityhub/accounts/v1/accounts.grpc.pb.h"
#include "infra/ids.h"
#include "infra/log.h"

namespace cityhub::infra::auth {

JwksClient::JwksClient(std::shared_ptr<grpc::Channel> accounts, TokenVerifier& verifier,
                       std::chrono::milliseconds period, std::chrono::milliseconds min_interval)
    : channel_(std::move(accounts)),
      verifier_(verifier),
      period_(period),
      min_interval_(min_interval) {}

JwksClient::~JwksClient() { Stop(); }

bool JwksClient::Refresh() {
  {
    std::lock_guard lock(mu_);
    last_attempt_ = std::chrono::steady_clock::now();
  }
  auto stub = cityhub::accounts::v1::AccountsService::NewStub(channel_);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(3));
  cityhub::accounts::v1::Jwks jwks;
  const grpc::Status status = stub->GetJwks(&ctx, {}, &jwks);
  if (!status.ok()) {
    log::Warn("jwks_fetch_failed", {{"error", status.error_message()}});
    return false;
  }
  std::vector<Ed25519Key> keys;
  for (const auto& k : jwks.keys()) {
    if (k.kty() != "OKP" || k.crv() != "Ed25519") continue;
    auto raw = Base64UrlDecode(k.x());
    if (!raw) continue;
    auto key = Ed25519Key::FromPublicBytes(*raw);
    if (key.ok()) keys.push_back(std::move(*key));
  }
  if (keys.empty()) {
    log::Warn("jwks_fetch_failed", {{"error", "no Ed25519 keys in the JWKS"}});
    return false;
  }
  verifier_.SetKeys(std::move(keys));
  return true;
}

bool JwksClient::RefreshIfDue() {
  {
    std::lock_guard lock(mu_);
    if (std::chrono::steady_clock::now() - last_attempt_ < min_interval_) return false;
  }
  return Refresh();
}

void JwksClient::RefreshSoon(std::function<void(bool)> done) {
  {
    std::lock_guard lock(mu_);
    const bool due = std::chrono::steady_clock::now() - last_attempt_ >= min_interval_;
    if (started_ && !stop_ && (due || fetching_ || !waiting_.empty()) &&
        waiting_.size() < kMaxWaiting) {
      waiting_.push_back(std::move(done));
      cv_.notify_all();
      return;
    }
  }
  done(false);
}

void JwksClient::Start() {
  // The first fetch before the process serves: tokens that arrive right after a (re)start are
  // verified, not refused. Accounts unreachable: fails fast and the thread keeps trying.
  const bool first = Refresh();
  {
    std::lock_guard lock(mu_);
    started_ = true;
  }
  thread_ = std::thread([this, loaded = first]() mutable {
    while (true) {
      {
        std::unique_lock lock(mu_);
        // Until the first success, retry every second; then at the regular period; at once
        // for callers waiting on RefreshSoon.
        const auto wait = loaded ? period_ : std::chrono::milliseconds(1000);
        cv_.wait_for(lock, wait, [this] { return stop_ || !waiting_.empty(); });
        if (stop_) break;
        fetching_ = !waiting_.empty();
      }
      const bool fetched = Refresh();
      loaded = fetched || (loaded && verifier_.key_count() > 0);
      std::vector<std::function<void(bool)>> answered;
      {
        std::lock_guard lock(mu_);
        // Those who came during the fetch get its result too.
        answered.swap(waiting_);
        fetching_ = false;
      }
      for (auto& done : answered) done(fetched);
    }
    std::vector<std::function<void(bool)>> left;
    {
      std::lock_guard lock(mu_);
      left.swap(waiting_);
    }
    for (auto& done : left) done(false);
  });
}

void JwksClient::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace cityhub::infra::auth
