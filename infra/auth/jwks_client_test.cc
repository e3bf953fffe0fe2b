// JwksClient against a real gRPC server that serves a JWKS: a refresh asked for by a caller
// that must not wait (RefreshSoon) runs on the client's own thread.
#include "infra/auth/jwks_client.h"

#include <atomic>
#include <future>
#include <thread>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "cityhub/accounts/v1/accounts.grpc.pb.h"
#include "infra/ids.h"

namespace cityhub::infra::auth {
namespace {

using namespace std::chrono_literals;
namespace accounts_v1 = cityhub::accounts::v1;

// Serves one key's JWKS, each answer after `delay`.
class KeyServer final : public accounts_v1::AccountsService::Service {
 public:
  explicit KeyServer(std::chrono::milliseconds delay) : delay_(delay) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(this);
    server_ = builder.BuildAndStart();
  }
  ~KeyServer() override { server_->Shutdown(std::chrono::system_clock::now()); }

  grpc::Status GetJwks(grpc::ServerContext*, const accounts_v1::GetJwksRequest*,
                       accounts_v1::Jwks* jwks) override {
    calls_.fetch_add(1);
    std::this_thread::sleep_for(delay_);
    auto* k = jwks->add_keys();
    k->set_kty("OKP");
    k->set_crv("Ed25519");
    k->set_x(Base64UrlEncode(key_.public_bytes()));
    k->set_kid(key_.kid());
    return grpc::Status::OK;
  }

  std::shared_ptr<grpc::Channel> Channel() const {
    return grpc::CreateChannel("127.0.0.1:" + std::to_string(port_),
                               grpc::InsecureChannelCredentials());
  }
  int calls() const { return calls_.load(); }
  const Ed25519Key& key() const { return key_; }

 private:
  std::chrono::milliseconds delay_;
  Ed25519Key key_ = Ed25519Key::Generate();
  std::atomic<int> calls_{0};
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

TEST(JwksClient, RefreshSoonReturnsAtOnceAndAnswersEveryCallerAfterOneFetch) {
  KeyServer accounts(300ms);
  SystemClock clock;
  TokenVerifier verifier(TokenSettings{}, clock);
  // A long period: only RefreshSoon fetches after the first.
  JwksClient jwks(accounts.Channel(), verifier, std::chrono::hours(1), 0ms);
  jwks.Start();
  ASSERT_EQ(accounts.calls(), 1);
  verifier.SetKeys({});  // as if the keys had rotated since
  std::promise<bool> first, second;
  const auto asked = std::chrono::steady_clock::now();
  const auto caller = std::this_thread::get_id();
  std::thread::id answered_on;
  jwks.RefreshSoon([&](bool loaded) {
    answered_on = std::this_thread::get_id();
    first.set_value(loaded);
  });
  jwks.RefreshSoon([&](bool loaded) { second.set_value(loaded); });
  EXPECT_LT(std::chrono::steady_clock::now() - asked, 100ms) << "a caller waited for the fetch";
  EXPECT_TRUE(first.get_future().get());
  EXPECT_TRUE(second.get_future().get());
  EXPECT_NE(answered_on, caller);
  EXPECT_TRUE(verifier.HasKey(accounts.key().kid()));
  EXPECT_EQ(accounts.calls(), 2) << "callers asking together share one fetch";
  jwks.Stop();
}

TEST(JwksClient, RefreshSoonWithinTheMinimumIntervalAnswersFalseAtOnceWithoutAFetch) {
  KeyServer accounts(0ms);
  SystemClock clock;
  TokenVerifier verifier(TokenSettings{}, clock);
  JwksClient jwks(accounts.Channel(), verifier, std::chrono::hours(1), std::chrono::hours(1));
  bool before_start = true;
  jwks.RefreshSoon([&](bool loaded) { before_start = loaded; });
  EXPECT_FALSE(before_start) << "not started: nothing fetches";
  jwks.Start();  // fetched just now
  bool answered = false, loaded = true;
  jwks.RefreshSoon([&](bool l) {
    answered = true;
    loaded = l;
  });
  EXPECT_TRUE(answered) << "answered here, at once";
  EXPECT_FALSE(loaded);
  EXPECT_EQ(accounts.calls(), 1);
  jwks.Stop();
}

}  // namespace
}  // namespace cityhub::infra::auth
