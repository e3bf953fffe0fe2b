// The concurrency model of the requests service (docs/design.md): blocking handlers run on the
// service's bounded executor, so that calls stuck in Redis hold neither gRPC's callback threads
// nor GetRequest (which completes through the async client), and a full executor answers
// RESOURCE_EXHAUSTED at once.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "services/requests/requests_test_fixture.h"
#include "tests/harness/health.h"
#include "tests/harness/process.h"

namespace cityhub::requests {
namespace {

namespace v1 = cityhub::requests::v1;
using namespace std::chrono_literals;

const Who kAnna = {"01JANNA0000000000000000000", {"citizen"}, {}, true};

// Redis holds writes this long (reads go on); below the client's 1 s command timeout, so the
// held calls succeed afterwards.
constexpr char kHoldWritesMs[] = "800";
// What "answers within its normal time" means on a shared test machine.
constexpr auto kPrompt = 200ms;

class RequestsConcurrencyTest : public RequestsServiceTest {
 protected:
  void SetUp() override {
    // A catalogue that stays cached, as in production (2 s there), so that GetRequest needs
    // nothing but its async read.
    catalogue_ttl_ = CatalogueTtl();
    executor_options_ = Executor();
    RequestsServiceTest::SetUp();
  }
  void TearDown() override {
    (void)client().Command({"CLIENT", "UNPAUSE"});
    RequestsServiceTest::TearDown();
  }
  virtual infra::ExecutorOptions Executor() const { return {"requests", 4, 64}; }
  virtual std::chrono::milliseconds CatalogueTtl() const { return std::chrono::hours(1); }

  double Active() {
    return metrics_.AddGauge("executor_active", "", {"executor"}).WithLabels({"requests"}).Value();
  }
  double Queued() {
    return metrics_.AddGauge("executor_queue_depth", "", {"executor"})
        .WithLabels({"requests"})
        .Value();
  }
  double Rejected() {
    return metrics_.AddCounter("executor_rejected_total", "", {"executor"})
        .WithLabels({"requests"})
        .Value();
  }
  // Clients that Redis holds back (paused writes count as blocked).
  int64_t BlockedInRedis() {
    auto info = client().Command({"INFO", "clients"});
    if (!info.ok()) return -1;
    const std::string& text = info->str();
    const size_t at = text.find("blocked_clients:");
    return at == std::string::npos ? -1 : std::stoll(text.substr(at + 16));
  }
  void HoldWrites() {
    auto paused = client().Command({"CLIENT", "PAUSE", kHoldWritesMs, "WRITE"});
    ASSERT_TRUE(paused.ok()) << paused.status();
  }
  // Files a request on its own thread; the status lands in `*status`.
  std::thread FileInBackground(grpc::Status* status) {
    return std::thread([this, status] {
      v1::ServiceRequest out;
      *status = stub_->CreateRequest(Ctx(kAnna).get(), NewRequest("graffiti"), &out);
    });
  }
  std::string Address() const { return "127.0.0.1:" + std::to_string(server_->port()); }
};

// Times `call` (returning a grpc::Status) and returns the status and the milliseconds taken.
template <typename Fn>
std::pair<grpc::Status, std::chrono::milliseconds> Timed(Fn call) {
  const auto start = std::chrono::steady_clock::now();
  grpc::Status status = call();
  return {status, std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - start)};
}

TEST_F(RequestsConcurrencyTest, GetRequestAndHealthAnswerPromptlyWhileCreatesAreStuckInRedis) {
  const v1::ServiceRequest filed = File(kAnna, NewRequest("graffiti"));
  v1::GetRequestRequest get;
  get.set_request_id(filed.request_id());
  v1::ServiceRequest got;
  ASSERT_TRUE(stub_->GetRequest(Ctx(kAnna).get(), get, &got).ok());  // warms the catalogue

  HoldWrites();
  constexpr int kStuck = 3;
  std::vector<grpc::Status> created(kStuck);
  std::vector<std::thread> creators;
  for (int i = 0; i < kStuck; ++i) creators.push_back(FileInBackground(&created[i]));
  ASSERT_TRUE(cityhub::testing::WaitFor([&] { return BlockedInRedis() >= 1; }, 5s));
  // Every create is held at once: none waits for a thread (on gRPC's callback threads, at most
  // as many as gRPC has would be, and everything else would wait behind them).
  EXPECT_TRUE(cityhub::testing::WaitFor([&] { return BlockedInRedis() >= kStuck; }, 300ms));
  EXPECT_EQ(Active(), kStuck);

  for (int i = 0; i < 3; ++i) {
    auto [status, took] = Timed([&] { return stub_->GetRequest(Ctx(kAnna).get(), get, &got); });
    EXPECT_TRUE(status.ok()) << status.error_message();
    EXPECT_LT(took, kPrompt);
    EXPECT_EQ(got.request_id(), filed.request_id());
  }
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(cityhub::testing::HealthStatus(Address()), "SERVING");
  EXPECT_LT(std::chrono::steady_clock::now() - start, kPrompt);
  // The creates were still held while the others answered.
  EXPECT_EQ(Active(), kStuck);

  for (auto& t : creators) t.join();
  for (const auto& s : created) EXPECT_TRUE(s.ok()) << s.error_message();
}

// Key rotation: a token signed with a key the service does not know yet makes it fetch the
// keys, an outbound call that can take long (here: until the test lets it return).
class KeyRefreshTest : public RequestsConcurrencyTest {
 protected:
  void SetUp() override {
    refresh_keys_ = [this] {
      std::unique_lock lock(mu_);
      ++refreshing_;
      cv_.notify_all();
      cv_.wait_for(lock, 5s, [this] { return released_; });
      return false;
    };
    RequestsConcurrencyTest::SetUp();
  }
  void TearDown() override {
    Release();
    RequestsConcurrencyTest::TearDown();
  }
  void Release() {
    std::lock_guard lock(mu_);
    released_ = true;
    cv_.notify_all();
  }
  int Refreshing() {
    std::lock_guard lock(mu_);
    return refreshing_;
  }

  std::mutex mu_;
  std::condition_variable cv_;
  int refreshing_ = 0;
  bool released_ = false;
};

TEST_F(KeyRefreshTest, CallsWaitingForNewKeysHoldNoCallbackThread) {
  const v1::ServiceRequest filed = File(kAnna, NewRequest("graffiti"));
  v1::GetRequestRequest get;
  get.set_request_id(filed.request_id());
  v1::ServiceRequest got;
  ASSERT_TRUE(stub_->GetRequest(Ctx(kAnna).get(), get, &got).ok());  // warms the catalogue

  infra::auth::TokenSigner rotated(infra::auth::Ed25519Key::Generate(),
                                   infra::auth::TokenSettings{}, *clock_);
  infra::auth::AccessClaims claims;
  claims.subject = kAnna.account_id;
  claims.roles = kAnna.roles;
  claims.email_verified = true;
  const std::string unknown_key_token = rotated.Sign(claims);
  constexpr int kWaiting = 3;
  std::vector<grpc::Status> waited(kWaiting);
  std::vector<std::thread> callers;
  for (int i = 0; i < kWaiting; ++i) {
    callers.emplace_back([&, i] {
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + 10s);
      ctx.AddMetadata("authorization", "Bearer " + unknown_key_token);
      v1::ServiceRequest out;
      waited[i] = stub_->GetRequest(&ctx, get, &out);
    });
  }
  ASSERT_TRUE(cityhub::testing::WaitFor([&] { return Refreshing() >= 1; }, 5s));
  EXPECT_TRUE(cityhub::testing::WaitFor([&] { return Refreshing() >= kWaiting; }, 300ms));

  auto [status, took] = Timed([&] { return stub_->GetRequest(Ctx(kAnna).get(), get, &got); });
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_LT(took, kPrompt);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(cityhub::testing::HealthStatus(Address()), "SERVING");
  EXPECT_LT(std::chrono::steady_clock::now() - start, kPrompt);

  Release();
  for (auto& t : callers) t.join();
  for (const auto& s : waited) EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

class FullExecutorTest : public RequestsConcurrencyTest {
 protected:
  infra::ExecutorOptions Executor() const override { return {"requests", 1, 1}; }

  // Holds writes, then fills the one worker and the one place in the queue with creates.
  void FillExecutor() {
    HoldWrites();
    running_ = FileInBackground(&first_);
    ASSERT_TRUE(cityhub::testing::WaitFor([&] { return BlockedInRedis() >= 1; }, 5s));
    queued_ = FileInBackground(&second_);
    ASSERT_TRUE(cityhub::testing::WaitFor([&] { return Queued() == 1; }, 5s));
  }
  // Waits for the creates of FillExecutor, which succeed once Redis takes writes again.
  void DrainExecutor() {
    running_.join();
    queued_.join();
    EXPECT_TRUE(first_.ok()) << first_.error_message();
    EXPECT_TRUE(second_.ok()) << second_.error_message();
  }
  void TearDown() override {
    if (running_.joinable()) running_.join();
    if (queued_.joinable()) queued_.join();
    RequestsConcurrencyTest::TearDown();
  }

  // A page within `radius_m` of the point NewRequest files at.
  static v1::ListRequestsRequest NearTheFiled(double radius_m) {
    v1::ListRequestsRequest near;
    near.set_lat(52.0211);
    near.set_long_(8.5325);
    near.set_radius_m(radius_m);
    return near;
  }
  // A page of a small box around that point.
  static v1::ListRequestsRequest BoxAroundTheFiled() {
    v1::ListRequestsRequest box;
    box.set_min_lat(52.0201);
    box.set_min_long(8.5315);
    box.set_max_lat(52.0221);
    box.set_max_long(8.5335);
    return box;
  }

  grpc::Status first_, second_;
  std::thread running_, queued_;
};

TEST_F(FullExecutorTest, AFullExecutorAnswersResourceExhaustedAtOnce) {
  const v1::ServiceRequest filed = File(kAnna, NewRequest("graffiti"));
  v1::GetRequestRequest get;
  get.set_request_id(filed.request_id());
  v1::ServiceRequest got;
  ASSERT_TRUE(stub_->GetRequest(Ctx(kAnna).get(), get, &got).ok());  // warms the catalogue

  FillExecutor();
  v1::ListServicesResponse services;
  auto [status, took] =
      Timed([&] { return stub_->ListServices(Ctx().get(), v1::ListServicesRequest(), &services); });
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(status.error_message(), "server busy");
  EXPECT_LT(took, kPrompt);
  EXPECT_EQ(Rejected(), 1);
  // GetRequest does not need the executor.
  auto [get_status, get_took] =
      Timed([&] { return stub_->GetRequest(Ctx(kAnna).get(), get, &got); });
  EXPECT_TRUE(get_status.ok()) << get_status.error_message();
  EXPECT_LT(get_took, kPrompt);

  DrainExecutor();
  // With room again, the same call succeeds.
  EXPECT_TRUE(stub_->ListServices(Ctx().get(), v1::ListServicesRequest(), &services).ok());
}

// Pages near a point and in a box complete through the async client, as GetRequest does: they
// answer at once while every worker is busy and the queue is full, and take no place in it.
TEST_F(FullExecutorTest, NearAndBoxPagesAnswerWhileTheExecutorIsFull) {
  const v1::ServiceRequest filed = File(kAnna, NewRequest("graffiti"));  // loads the catalogue
  FillExecutor();
  for (const v1::ListRequestsRequest& query : {NearTheFiled(100), BoxAroundTheFiled()}) {
    v1::ListRequestsResponse page;
    auto [status, took] =
        Timed([&] { return stub_->ListRequests(Ctx(kAnna).get(), query, &page); });
    EXPECT_TRUE(status.ok()) << status.error_message();
    EXPECT_LT(took, kPrompt);
    ASSERT_EQ(page.requests_size(), 1);
    EXPECT_EQ(page.requests(0).request_id(), filed.request_id());
    EXPECT_EQ(page.requests(0).service_name(), filed.service_name());
    EXPECT_TRUE(page.requests(0).is_own());
  }
  EXPECT_EQ(Rejected(), 0);
  EXPECT_EQ(Queued(), 1);  // the queued create still waits: the pages went round it
  DrainExecutor();
}

// "My requests" completes through the async client too (#16): it answers while the executor
// is full, with the caller's request and its category.
TEST_F(FullExecutorTest, MyRequestsAnswerWhileTheExecutorIsFull) {
  const v1::ServiceRequest filed = File(kAnna, NewRequest("graffiti"));  // loads the catalogue
  FillExecutor();
  v1::ListRequestsResponse page;
  auto [status, took] = Timed(
      [&] { return stub_->ListMyRequests(Ctx(kAnna).get(), v1::ListMyRequestsRequest(), &page); });
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_LT(took, kPrompt);
  ASSERT_GE(page.requests_size(), 1);
  EXPECT_EQ(page.requests(0).request_id(), filed.request_id());
  EXPECT_EQ(page.requests(0).service_name(), filed.service_name());
  EXPECT_EQ(Rejected(), 0);
  DrainExecutor();
}

class FullExecutorUncachedTest : public FullExecutorTest {
 protected:
  std::chrono::milliseconds CatalogueTtl() const override { return std::chrono::milliseconds(0); }
};

// A page whose categories are not cached never reloads them on the async client's thread (a
// blocking round trip): it finishes on the executor, so a full one answers "server busy".
TEST_F(FullExecutorUncachedTest, AnAreaPageThatMustReloadTheCatalogueFinishesOnTheExecutor) {
  const v1::ServiceRequest filed = File(kAnna, NewRequest("graffiti"));
  FillExecutor();
  v1::ListRequestsResponse page;
  auto [status, took] =
      Timed([&] { return stub_->ListRequests(Ctx(kAnna).get(), NearTheFiled(100), &page); });
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(status.error_message(), "server busy");
  EXPECT_LT(took, kPrompt);
  EXPECT_EQ(Rejected(), 1);
  DrainExecutor();

  // With room again, the page is answered from the executor, categories and all: the two
  // creates, then the first request.
  page.Clear();
  const grpc::Status again = stub_->ListRequests(Ctx(kAnna).get(), NearTheFiled(100), &page);
  ASSERT_TRUE(again.ok()) << again.error_message();
  ASSERT_EQ(page.requests_size(), 3);
  EXPECT_EQ(page.requests(2).request_id(), filed.request_id());
  for (const auto& r : page.requests()) EXPECT_EQ(r.service_name(), filed.service_name());
}

class OneWorkerTest : public RequestsConcurrencyTest {
 protected:
  infra::ExecutorOptions Executor() const override { return {"requests", 1, 8}; }
};

TEST_F(OneWorkerTest, ACallWhoseDeadlinePassedWhileQueuedDoesNotRun) {
  HoldWrites();
  grpc::Status first;
  std::thread running = FileInBackground(&first);
  ASSERT_TRUE(cityhub::testing::WaitFor([&] { return BlockedInRedis() >= 1; }, 5s));

  auto ctx = Ctx(kAnna);
  ctx->set_deadline(std::chrono::system_clock::now() + 50ms);
  v1::ServiceRequest out;
  const grpc::Status late = stub_->CreateRequest(ctx.get(), NewRequest("graffiti"), &out);
  EXPECT_EQ(late.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);

  running.join();
  EXPECT_TRUE(first.ok()) << first.error_message();
  // The worker reaches the late call only after its deadline: it is answered without running.
  ASSERT_TRUE(cityhub::testing::WaitFor([&] { return Queued() == 0 && Active() == 0; }, 5s));
  EXPECT_EQ(requests_->Count("bielefeld.de").value(), 1);
}

}  // namespace
}  // namespace cityhub::requests
