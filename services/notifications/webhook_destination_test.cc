// Webhooks never reach internal addresses (server-side request forgery): refused at
// registration where the URL shows it, and at delivery for the address actually connected to.
// Real Redis, the real gRPC service, real libcurl deliveries to a real HTTP receiver on
// 127.0.0.1.
#include <gmock/gmock.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <gtest/gtest.h>

#include "infra/auth/authorizer.h"
#include "infra/auth/jwt.h"
#include "infra/events/events.h"
#include "infra/grpc/server.h"
#include "infra/ids.h"
#include "services/notifications/delivery.h"
#include "services/notifications/destination_policy.h"
#include "services/notifications/keys.h"
#include "services/notifications/notifications_service.h"
#include "tests/harness/redis_server.h"
#include "tests/harness/sinks.h"

namespace cityhub::notifications {
namespace {

namespace nv1 = cityhub::notifications::v1;
namespace ev = cityhub::events::v1;
namespace rv1 = cityhub::requests::v1;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;
using namespace std::chrono_literals;

constexpr char kInternal[] = "internal-for-tests";

class WebhookDestinationTest : public cityhub::testing::RedisTest {
 protected:
  // The service and the delivery workers with `policy` (the defaults: no allow list).
  void Start(DestinationPolicy policy = {}) {
    policy_ = std::move(policy);
    signer_ = std::make_unique<infra::auth::TokenSigner>(infra::auth::Ed25519Key::Generate(),
                                                         infra::auth::TokenSettings{}, clock_);
    verifier_ = std::make_unique<infra::auth::TokenVerifier>(infra::auth::TokenSettings{}, clock_);
    std::vector<infra::auth::Ed25519Key> keys;
    keys.push_back(infra::auth::Ed25519Key::FromPublicBytes(signer_->key().public_bytes()).value());
    verifier_->SetKeys(std::move(keys));
    async_ = std::make_unique<infra::redis::AsyncClient>(redis().ClientOptions(), 1);
    store_ = std::make_unique<Stores>(client(), *async_);
    // Webhook events for requests without owner or followers ask no one for contacts.
    contacts_ = std::make_unique<Contacts>(
        grpc::CreateChannel("127.0.0.1:1", grpc::InsecureChannelCredentials()), kInternal, clock_);
    fanout_ = std::make_unique<FanOut>(*store_, *contacts_, nullptr, clock_,
                                       FanOutSettings{"https://app.example"});
    live_ = std::make_unique<LiveHub>(store_->feed, redis().ClientOptions(), clock_);
    DeliveryOptions d;
    d.webhook_destinations = policy_;
    d.backoff_base = 1ms;
    d.backoff_max = 2ms;
    d.max_attempts = 3;
    d.timeout = 2s;
    delivery_ = std::make_unique<Delivery>(client(), *store_, d, clock_, metrics_);
    authorizer_ = std::make_unique<infra::auth::Authorizer>(
        nv1::NotificationsService::service_full_name(), *verifier_, kInternal);
    service_ = std::make_unique<NotificationsService>(
        NotificationsDeps{*store_, *live_, *authorizer_, clock_, policy_},
        std::make_unique<infra::BoundedExecutor>(infra::ExecutorOptions{"notifications", 2, 16},
                                                 metrics_));
    infra::ServerOptions options;
    options.drain_delay = 0ms;
    options.grace = 1s;
    server_ = std::make_unique<infra::GrpcServer>(options, metrics_);
    server_->AddService(service_.get());
    ASSERT_TRUE(server_->Start().ok());
    stub_ = nv1::NotificationsService::NewStub(grpc::CreateChannel(
        "127.0.0.1:" + std::to_string(server_->port()), grpc::InsecureChannelCredentials()));
  }

  void TearDown() override { server_.reset(); }

  grpc::Status Register(const std::string& url, nv1::Webhook* hook) {
    infra::auth::AccessClaims c;
    c.subject = "01JADMIN00000000000000000A";
    c.roles = {"admin"};
    c.email_verified = true;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + 10s);
    ctx.AddMetadata("authorization", "Bearer " + signer_->Sign(c));
    nv1::CreateWebhookRequest create;
    create.set_url(url);
    create.add_event_types("RequestStatusChanged");
    return stub_->CreateWebhook(&ctx, create, hook);
  }

  // A subscription as the store holds it, without registration's check: one registered before
  // the check existed, or whose name resolved elsewhere then (DNS can change at any time).
  void Stored(const std::string& url) {
    StoredWebhook w;
    w.set_id(infra::NewUlid(clock_));
    w.set_url(url);
    w.add_event_types("RequestStatusChanged");
    w.set_secret("whsec");
    ASSERT_TRUE(store_->webhooks.AddWebhook(w).ok());
  }

  // A status change every webhook hears of, delivered with every retry there is.
  void StatusChangedAndDelivered() {
    ev::Event e;
    infra::events::Stamp(e, clock_, "trace");
    auto* s = e.mutable_request_status_changed();
    s->set_request_id("01JREQ1");
    s->set_service_code("pothole");
    s->set_department("roads");
    s->set_from_status(rv1::SUBMITTED);
    s->set_to_status(rv1::RESOLVED);
    ASSERT_TRUE(fanout_->Handle(e.SerializeAsString()).ok());
    for (int i = 0; i < 10; ++i) {
      clock_.Advance(1s);
      while (delivery_->RunOne()) {
      }
    }
  }

  // The dead-letter entries' fields.
  std::vector<std::map<std::string, std::string>> Dead() {
    std::vector<std::map<std::string, std::string>> out;
    auto dead = client().Command({"XRANGE", keys::kDead, "-", "+"});
    for (const auto& entry : dead->elements()) {
      const auto& f = entry.elements()[1].elements();
      auto& fields = out.emplace_back();
      for (size_t i = 0; i + 1 < f.size(); i += 2) fields[f[i].str()] = f[i + 1].str();
    }
    return out;
  }

  infra::ManualClock clock_{std::chrono::system_clock::now()};
  infra::MetricsRegistry metrics_;
  cityhub::testing::HttpSink receiver_;
  DestinationPolicy policy_;
  std::unique_ptr<infra::auth::TokenSigner> signer_;
  std::unique_ptr<infra::auth::TokenVerifier> verifier_;
  std::unique_ptr<infra::redis::AsyncClient> async_;
  std::unique_ptr<Stores> store_;
  std::unique_ptr<Contacts> contacts_;
  std::unique_ptr<FanOut> fanout_;
  std::unique_ptr<LiveHub> live_;
  std::unique_ptr<Delivery> delivery_;
  std::unique_ptr<infra::auth::Authorizer> authorizer_;
  std::unique_ptr<NotificationsService> service_;
  std::unique_ptr<infra::GrpcServer> server_;
  std::unique_ptr<nv1::NotificationsService::Stub> stub_;
};

TEST_F(WebhookDestinationTest, RegistrationRefusesInternalDestinationsNamingTheField) {
  Start();
  for (const std::string& url : std::vector<std::string>{
           "http://169.254.169.254/", "http://169.254.169.254/latest/meta-data/iam/",
           "http://[::ffff:169.254.169.254]/", "http://[fd00:ec2::254]/", receiver_.url("/hook"),
           "http://10.0.0.7:8080/", "http://redis:6379/", "http://accounts:7001/",
           "http://redis.cityhub.svc.cluster.local/", "https://partner.example:6379/"}) {
    nv1::Webhook hook;
    const grpc::Status s = Register(url, &hook);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << url;
    EXPECT_THAT(s.error_message(), StartsWith("url: ")) << url;
  }
  nv1::Webhook hook;
  EXPECT_TRUE(Register("https://partner.example/hooks/cityhub", &hook).ok());
}

TEST_F(WebhookDestinationTest, ALoopbackReceiverGetsNothingAndTheReasonIsGeneric) {
  Start();
  Stored(receiver_.url("/hook"));
  StatusChangedAndDelivered();
  EXPECT_EQ(receiver_.count(), 0u);
  const auto dead = Dead();
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].at("reason"), "destination not allowed");
  EXPECT_EQ(dead[0].at("attempts"), "1");  // refused at once, not retried
}

// The name is not the check: what it resolves to is. "localhost" resolves to 127.0.0.1 (and
// ::1), which is refused like the literal address.
TEST_F(WebhookDestinationTest, ANameResolvingToLoopbackIsRefusedToo) {
  Start();
  Stored("http://localhost:" + std::to_string(receiver_.port()) + "/hook");
  StatusChangedAndDelivered();
  EXPECT_EQ(receiver_.count(), 0u);
  const auto dead = Dead();
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].at("reason"), "destination not allowed");
  EXPECT_THAT(dead[0].at("reason"), Not(HasSubstr("127.0.0.1")));
}

// Tests and local development allow-list their receivers explicitly.
TEST_F(WebhookDestinationTest, TheAllowListLetsTheLocalReceiverHaveItsEvents) {
  Start(DestinationPolicy({*ParseNetworks("127.0.0.1/32"), {}}));
  nv1::Webhook hook;
  ASSERT_TRUE(Register(receiver_.url("/hook"), &hook).ok());
  // Only 127.0.0.1 is allowed: of localhost's addresses, ::1 is refused and 127.0.0.1 used.
  Stored("http://localhost:" + std::to_string(receiver_.port()) + "/by-name");
  StatusChangedAndDelivered();
  ASSERT_EQ(receiver_.count(), 2u);
  std::set<std::string> targets;
  for (const auto& r : receiver_.received()) targets.insert(r.target);
  EXPECT_EQ(targets, (std::set<std::string>{"/hook", "/by-name"}));
  EXPECT_TRUE(Dead().empty());
}

}  // namespace
}  // namespace cityhub::notifications
