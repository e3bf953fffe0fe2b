// The notifications service against real Redis, the real accounts service (for contacts),
// a real SMTP sink and a real HTTP receiver.
#include "services/notifications/notifications_service.h"

#include <thread>

#include <gmock/gmock.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "infra/events/consumer.h"
#include "infra/events/events.h"
#include "infra/events/streams.h"
#include "infra/grpc/server.h"
#include "infra/ids.h"
#include "services/accounts/accounts_service.h"
#include "services/notifications/components.h"
#include "services/notifications/keys.h"
#include "tests/harness/process.h"
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

class NotificationsTest : public cityhub::testing::RedisTest {
 protected:
  void SetUp() override {
    RedisTest::SetUp();
    // The accounts service, for real GetContact calls.
    signer_ = std::make_unique<infra::auth::TokenSigner>(infra::auth::Ed25519Key::Generate(),
                                                         infra::auth::TokenSettings{}, clock_);
    verifier_ = std::make_unique<infra::auth::TokenVerifier>(infra::auth::TokenSettings{}, clock_);
    std::vector<infra::auth::Ed25519Key> keys;
    keys.push_back(infra::auth::Ed25519Key::FromPublicBytes(signer_->key().public_bytes()).value());
    verifier_->SetKeys(std::move(keys));
    account_store_ = std::make_unique<accounts::AccountStore>(client());
    sessions_ = std::make_unique<accounts::SessionStore>(client());
    throttle_ = std::make_unique<accounts::ThrottleStore>(client(), accounts::ThrottlePolicy{});
    api_keys_ = std::make_unique<accounts::ApiKeyStore>(client());
    hasher_ = std::make_unique<accounts::PasswordHasher>(accounts::Argon2Params{}, 1, 10s);
    accounts_authorizer_ = std::make_unique<infra::auth::Authorizer>(
        cityhub::accounts::v1::AccountsService::service_full_name(), *verifier_, kInternal);
    accounts_deleted_ = std::make_unique<infra::auth::DeletedAccounts>(client(), "accounts");
    accounts_authorizer_->set_deleted_accounts(accounts_deleted_.get());
    accounts_ = std::make_unique<accounts::AccountsService>(
        accounts::AccountsDeps{*account_store_, *sessions_, *throttle_, *api_keys_, *hasher_,
                               *signer_, jwks_, *accounts_authorizer_, clock_, nullptr, nullptr,
                               accounts_metrics_},
        accounts::AccountsSettings{});
    infra::ServerOptions options;
    options.drain_delay = 0ms;
    options.grace = 1s;
    accounts_server_ = std::make_unique<infra::GrpcServer>(options, metrics_);
    accounts_server_->AddService(accounts_.get());
    ASSERT_TRUE(accounts_server_->Start().ok());

    // The notifications side: the graph main.cc builds, without event consumers (the tests hand
    // events to the fan-out) and without delivery workers (the tests run deliveries one by one).
    authorizer_ = std::make_unique<infra::auth::Authorizer>(
        nv1::NotificationsService::service_full_name(), *verifier_, kInternal);
    deleted_ = std::make_unique<infra::auth::DeletedAccounts>(client(), "notifications");
    authorizer_->set_deleted_accounts(deleted_.get());
    NotificationsSettings settings;
    settings.internal_token = kInternal;
    settings.contact_ttl = 0ms;
    settings.fanout = FanOutSettings{"https://app.example"};
    settings.delivery.smtp_url = smtp_.url();
    settings.delivery.push_endpoint = push_.url("/v1/projects/cityhub/messages:send");
    settings.delivery.push_token = "push-secret";
    settings.delivery.backoff_base = 1ms;
    settings.delivery.backoff_max = 2ms;
    settings.delivery.max_attempts = 3;
    settings.delivery.timeout = 2s;
    settings.delivery.webhook_destinations = destinations_;
    settings.delivery.workers = 0;
    settings.executor = executor_options_;
    settings.server = options;
    graph_ = std::make_unique<infra::Components>();
    NotificationsParts parts = BuildNotifications(
        *graph_,
        {client(), graph_->Make<infra::redis::AsyncClient>(redis().ClientOptions(), 1),
         redis().ClientOptions(), clock_, metrics_, *authorizer_,
         grpc::CreateChannel("127.0.0.1:" + std::to_string(accounts_server_->port()),
                             grpc::InsecureChannelCredentials()),
         nullptr},
        settings);
    store_ = &parts.stores;
    fanout_ = &parts.fanout;
    live_ = &parts.live;
    delivery_ = &parts.delivery;
    server_ = &parts.server;
    ASSERT_TRUE(server_->Start().ok());
    graph_->StartWorkers();
    stub_ = nv1::NotificationsService::NewStub(grpc::CreateChannel(
        "127.0.0.1:" + std::to_string(server_->port()), grpc::InsecureChannelCredentials()));
  }

  void TearDown() override {
    graph_.reset();  // the server first, then the parts it serves
    accounts_server_.reset();
  }

  // An account straight in the store (no Argon2 needed here).
  std::string Account(const std::string& email, const std::string& language, bool verified,
                      std::vector<std::string> roles = {"citizen"},
                      std::vector<std::string> departments = {}) {
    accounts::StoredAccount a;
    a.id = infra::NewUlid(clock_);
    a.email = email;
    a.email_key = email;
    a.display_name = "Resident " + language;
    a.language = language;
    a.password_hash = "x";
    a.roles = std::move(roles);
    a.departments = std::move(departments);
    a.verified = verified;
    EXPECT_TRUE(account_store_
                    ->Create(a, infra::HexEncode(infra::RandomBytes(8)), 1h,
                             infra::UnixMillis(clock_.Now()), {})
                    .ok());
    return a.id;
  }

  std::unique_ptr<grpc::ClientContext> As(const std::string& account,
                                          std::vector<std::string> roles = {"citizen"}) {
    infra::auth::AccessClaims c;
    c.subject = account;
    c.roles = std::move(roles);
    c.email_verified = true;
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->set_deadline(std::chrono::system_clock::now() + 10s);
    ctx->AddMetadata("authorization", "Bearer " + signer_->Sign(c));
    return ctx;
  }

  ev::Event Event() {
    ev::Event e;
    infra::events::Stamp(e, clock_, "trace");
    return e;
  }

  ev::Event StatusChanged(const std::string& request, const std::string& owner, rv1::Status to,
                          const std::string& code = "pothole") {
    ev::Event e = Event();
    auto* s = e.mutable_request_status_changed();
    s->set_request_id(request);
    s->set_service_code(code);
    s->set_department("roads");
    s->set_owner_account_id(owner);
    s->set_from_status(rv1::SUBMITTED);
    s->set_to_status(to);
    s->set_public_note("Wir kümmern uns.");
    s->set_service_name_de("Schlagloch");
    s->set_service_name_en("Pothole");
    return e;
  }

  void Handle(const ev::Event& e) { ASSERT_TRUE(fanout_->Handle(e.SerializeAsString()).ok()); }

  void DeliverAll() {
    for (int i = 0; i < 100 && delivery_->RunOne(); ++i) {
    }
  }

  std::vector<nv1::Notification> Inbox(const std::string& account) {
    nv1::ListNotificationsRequest req;
    req.set_page_size(100);
    nv1::ListNotificationsResponse res;
    EXPECT_TRUE(stub_->ListNotifications(As(account).get(), req, &res).ok());
    return {res.notifications().begin(), res.notifications().end()};
  }

  // Pushes for the account's own requests, with quiet hours 00:00-23:59 UTC: set the clock to
  // midday and every push is deferred.
  void QuietAllDay(const std::string& account) {
    nv1::UpdatePreferencesRequest update;
    auto* p = update.mutable_preferences();
    p->mutable_inbox()->set_own_requests(true);
    p->mutable_push()->set_own_requests(true);
    p->mutable_push_quiet_hours()->set_enabled(true);
    p->mutable_push_quiet_hours()->set_start("00:00");
    p->mutable_push_quiet_hours()->set_end("23:59");
    p->mutable_push_quiet_hours()->set_time_zone("UTC");
    nv1::NotificationPreferences saved;
    ASSERT_TRUE(stub_->UpdatePreferences(As(account).get(), update, &saved).ok());
  }

  std::string RegisterDevice(const std::string& account, const std::string& token) {
    nv1::RegisterDeviceRequest req;
    req.set_platform("android");
    req.set_push_token(token);
    nv1::Device d;
    EXPECT_TRUE(stub_->RegisterDevice(As(account).get(), req, &d).ok());
    return d.device_id();
  }

  infra::ManualClock clock_{std::chrono::system_clock::now()};
  infra::MetricsRegistry metrics_;
  // The service's executor; a suite may change it before calling this SetUp.
  infra::ExecutorOptions executor_options_{"notifications", 8, 256};
  cityhub::testing::SmtpSink smtp_;
  cityhub::testing::HttpSink push_;
  // Partners' receivers here listen on 127.0.0.1 (webhook_destination_test.cc: without it).
  DestinationPolicy destinations_{{*ParseNetworks("127.0.0.1/32"), {}}};
  std::unique_ptr<infra::auth::TokenSigner> signer_;
  std::unique_ptr<infra::auth::TokenVerifier> verifier_;
  cityhub::accounts::v1::Jwks jwks_;
  std::unique_ptr<accounts::AccountStore> account_store_;
  std::unique_ptr<accounts::SessionStore> sessions_;
  std::unique_ptr<accounts::ThrottleStore> throttle_;
  std::unique_ptr<accounts::ApiKeyStore> api_keys_;
  std::unique_ptr<accounts::PasswordHasher> hasher_;
  accounts::AccountsMetrics accounts_metrics_{metrics_};
  std::unique_ptr<infra::auth::Authorizer> accounts_authorizer_;
  std::unique_ptr<infra::auth::DeletedAccounts> accounts_deleted_;
  std::unique_ptr<accounts::AccountsService> accounts_;
  std::unique_ptr<infra::GrpcServer> accounts_server_;
  std::unique_ptr<infra::auth::Authorizer> authorizer_;
  std::unique_ptr<infra::auth::DeletedAccounts> deleted_;
  std::unique_ptr<infra::Components> graph_;

  // An inbox entry of `account` about a status change of request 01JREQ, with `id`.
  static StoredNotification StatusEntry(const std::string& account, const std::string& id) {
    StoredNotification n;
    n.set_id(id);
    n.set_account_id(account);
    n.set_kind(nv1::KIND_OWN_REQUEST_STATUS);
    n.set_request_id("01JREQ");
    return n;
  }

  // Parts of the graph.
  Stores* store_ = nullptr;
  FanOut* fanout_ = nullptr;
  LiveHub* live_ = nullptr;
  Delivery* delivery_ = nullptr;
  infra::GrpcServer* server_ = nullptr;
  std::unique_ptr<nv1::NotificationsService::Stub> stub_;
};

// The concurrency model (docs/design.md): with its one worker held in Redis and its queue
// full, the service refuses more calls at once instead of letting them wait.
class FullNotificationsExecutorTest : public NotificationsTest {
 protected:
  void SetUp() override {
    executor_options_ = {"notifications", 1, 1};
    NotificationsTest::SetUp();
  }
  void TearDown() override {
    (void)client().Command({"CLIENT", "UNPAUSE"});
    if (running_.joinable()) running_.join();
    if (queued_.joinable()) queued_.join();
    NotificationsTest::TearDown();
  }
  double Gauge(const char* name) {
    return metrics_.AddGauge(name, "", {"executor"}).WithLabels({"notifications"}).Value();
  }
  // Holds Redis's writes (reads go on) for less than the client's 1 s command timeout and
  // fills the one worker and the one place in the queue with device registrations of
  // `account`; DrainExecutor waits for them, which succeed once Redis takes writes again.
  void FillExecutor(const std::string& account) {
    ASSERT_TRUE(client().Command({"CLIENT", "PAUSE", "800", "WRITE"}).ok());
    auto register_device = [&](grpc::Status* status) {
      return std::thread([this, account, status] {
        nv1::RegisterDeviceRequest req;
        req.set_platform("android");
        req.set_push_token("token-" + infra::NewUlid(clock_));
        nv1::Device d;
        *status = stub_->RegisterDevice(As(account).get(), req, &d);
      });
    };
    running_ = register_device(&first_);
    ASSERT_TRUE(cityhub::testing::WaitFor([&] { return Gauge("executor_active") == 1; }, 5s));
    queued_ = register_device(&second_);
    ASSERT_TRUE(cityhub::testing::WaitFor([&] { return Gauge("executor_queue_depth") == 1; }, 5s));
  }
  void DrainExecutor() {
    running_.join();
    queued_.join();
    EXPECT_TRUE(first_.ok()) << first_.error_message();
    EXPECT_TRUE(second_.ok()) << second_.error_message();
  }

  grpc::Status first_, second_;
  std::thread running_, queued_;
};

TEST_F(FullNotificationsExecutorTest, AFullExecutorAnswersResourceExhaustedAtOnce) {
  const std::string anna = Account("anna@example.org", "de", true);
  FillExecutor(anna);

  const auto start = std::chrono::steady_clock::now();
  nv1::UnreadCount count;
  const grpc::Status refused = stub_->GetUnreadCount(As(anna).get(), {}, &count);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(refused.error_message(), "server busy");
  EXPECT_LT(std::chrono::steady_clock::now() - start, 200ms);

  DrainExecutor();
  EXPECT_TRUE(stub_->GetUnreadCount(As(anna).get(), {}, &count).ok());
}

TEST_F(NotificationsTest, ContactsAreReadAgainOnceTheAddressIsVerified) {
  // A cache as in production: the verification mail reads the contact while it is unverified.
  Contacts contacts(grpc::CreateChannel("127.0.0.1:" + std::to_string(accounts_server_->port()),
                                        grpc::InsecureChannelCredentials()),
                    kInternal, clock_, 60s);
  FanOut fanout(*store_, contacts, nullptr, clock_, FanOutSettings{"https://app.example"});
  const std::string paul = Account("paul@example.de", "de", false);
  ASSERT_FALSE(contacts.Get(paul)->email_verified);
  ASSERT_TRUE(account_store_->Update(paul, {{"verified", "1"}}, {}).ok());
  EXPECT_FALSE(contacts.Get(paul)->email_verified);  // a burst is answered from the cache
  ev::Event changed = Event();
  changed.mutable_contact_changed()->set_account_id(paul);
  ASSERT_TRUE(fanout.Handle(changed.SerializeAsString()).ok());
  EXPECT_TRUE(contacts.Get(paul)->email_verified);
  // Without the event (another replica got it), an unverified answer lives only briefly.
  const std::string rosa = Account("rosa@example.de", "de", false);
  ASSERT_FALSE(contacts.Get(rosa)->email_verified);
  ASSERT_TRUE(account_store_->Update(rosa, {{"verified", "1"}}, {}).ok());
  clock_.Advance(Contacts::kUnverifiedTtl + 1ms);
  EXPECT_TRUE(contacts.Get(rosa)->email_verified);
  // Verified answers are kept for the full time.
  ASSERT_TRUE(account_store_->Update(rosa, {{"display_name", "Rosa R."}}, {}).ok());
  clock_.Advance(10s);
  EXPECT_EQ(contacts.Get(rosa)->display_name, "Resident de");
}

TEST_F(NotificationsTest, VerificationMailsReachTheMailServerInTheResidentsLanguage) {
  const std::string anna = Account("anna@example.de", "en", false);
  ev::Event e = Event();
  e.mutable_verification_requested()->set_account_id(anna);
  e.mutable_verification_requested()->set_token("tok-123");
  Handle(e);
  DeliverAll();
  const auto mails = smtp_.Mails();
  ASSERT_EQ(mails.size(), 1u);
  EXPECT_THAT(mails[0], HasSubstr("X-Sink-Rcpt: anna@example.de"));
  EXPECT_THAT(mails[0], HasSubstr("multipart/alternative"));
  const std::string text = cityhub::testing::MailText(mails[0]);
  EXPECT_THAT(text, HasSubstr("https://app.example/verify-email?token=tok-123"));
  EXPECT_THAT(text, HasSubstr("please confirm your e-mail address"));
  EXPECT_THAT(text, HasSubstr("<a href="));  // the HTML part
  // Whoever registers chooses the display name: it is no way to put words into the city's mail.
  EXPECT_THAT(text, Not(HasSubstr("Resident en")));
}

TEST_F(NotificationsTest, AStatusChangeReachesOwnerAndFollowersOnEveryChannel) {
  const std::string owner = Account("owner@example.de", "de", true);
  const std::string follower = Account("follower@example.de", "en", false);
  RegisterDevice(owner, "fcm-token-owner-0001");
  ev::Event followed = Event();
  followed.mutable_request_followed()->set_request_id("01JREQ");
  followed.mutable_request_followed()->set_account_id(follower);
  Handle(followed);
  Handle(StatusChanged("01JREQ", owner, rv1::IN_PROGRESS));
  DeliverAll();

  const auto owners = Inbox(owner);
  ASSERT_EQ(owners.size(), 1u);
  EXPECT_EQ(owners[0].title(), "Ihre Meldung „Schlagloch“ ist in Bearbeitung");
  EXPECT_EQ(owners[0].body(), "Wir kümmern uns.");
  EXPECT_EQ(owners[0].kind(), nv1::KIND_OWN_REQUEST_STATUS);
  EXPECT_FALSE(owners[0].read());
  const auto followers = Inbox(follower);
  ASSERT_EQ(followers.size(), 1u);
  EXPECT_EQ(followers[0].title(), "A report you follow (\"Pothole\") is in progress");

  // Push in the FCM v1 shape, with the bearer token.
  const auto pushes = push_.received();
  ASSERT_EQ(pushes.size(), 1u);
  EXPECT_EQ(pushes[0].target, "/v1/projects/cityhub/messages:send");
  EXPECT_EQ(pushes[0].headers.at("authorization"), "Bearer push-secret");
  const auto body = nlohmann::json::parse(pushes[0].body);
  EXPECT_EQ(body["message"]["token"], "fcm-token-owner-0001");
  EXPECT_EQ(body["message"]["notification"]["title"], owners[0].title());
  EXPECT_EQ(body["message"]["data"]["request_id"], "01JREQ");
  // E-mail only to the verified owner.
  const auto mails = smtp_.Mails();
  ASSERT_EQ(mails.size(), 1u);
  EXPECT_THAT(mails[0], HasSubstr("X-Sink-Rcpt: owner@example.de"));
  EXPECT_THAT(cityhub::testing::MailText(mails[0]),
              HasSubstr("https://app.example/requests/01JREQ"));
  // Delivery status per channel.
  const auto after = Inbox(owner);
  ASSERT_EQ(after[0].deliveries_size(), 3);
  for (const auto& d : after[0].deliveries())
    EXPECT_EQ(d.state(), nv1::DELIVERY_STATE_SENT) << d.channel();
}

TEST_F(NotificationsTest, ARedeliveredEventCreatesNothingNew) {
  const std::string owner = Account("twice@example.de", "de", true);
  const ev::Event e = StatusChanged("01JREQ", owner, rv1::ACKNOWLEDGED);
  Handle(e);
  Handle(e);
  Handle(e);
  EXPECT_EQ(Inbox(owner).size(), 1u);
  DeliverAll();
  EXPECT_EQ(smtp_.Mails().size(), 1u);
}

TEST_F(NotificationsTest, CommentAuthorsAreNotToldOfTheirOwnComments) {
  const std::string owner = Account("o@example.de", "de", true);
  ev::Event c = Event();
  auto* added = c.mutable_comment_added();
  added->set_request_id("01JREQ");
  added->set_owner_account_id(owner);
  added->set_author_account_id(owner);
  added->set_author_role("resident");
  added->set_text("Noch immer da.");
  Handle(c);
  EXPECT_TRUE(Inbox(owner).empty());
}

TEST_F(NotificationsTest, PreferencesChooseChannelsButRequiredMailsIgnoreThem) {
  const std::string anna = Account("quiet@example.de", "de", true);
  RegisterDevice(anna, "fcm-token-quiet-0001");
  nv1::UpdatePreferencesRequest update;
  auto* p = update.mutable_preferences();
  p->mutable_inbox()->set_own_requests(true);  // push and e-mail off
  nv1::NotificationPreferences saved;
  ASSERT_TRUE(stub_->UpdatePreferences(As(anna).get(), update, &saved).ok());
  Handle(StatusChanged("01JREQ", anna, rv1::RESOLVED));
  ev::Event reset = Event();
  reset.mutable_password_reset_requested()->set_account_id(anna);
  reset.mutable_password_reset_requested()->set_token("reset-1");
  Handle(reset);
  DeliverAll();
  EXPECT_EQ(Inbox(anna).size(), 1u);
  EXPECT_EQ(push_.count(), 0u);
  const auto mails = smtp_.Mails();
  ASSERT_EQ(mails.size(), 1u);  // the reset mail only
  EXPECT_THAT(cityhub::testing::MailText(mails[0]), HasSubstr("reset-password?token=reset-1"));
}

TEST_F(NotificationsTest, QuietHoursDeferPushesInsteadOfDroppingThem) {
  const std::string anna = Account("night@example.de", "de", false);
  RegisterDevice(anna, "fcm-token-night-0001");
  ASSERT_NO_FATAL_FAILURE(QuietAllDay(anna));
  // Whatever the time, it is inside 00:00-23:59 unless in the last minute of the day.
  clock_.Set(std::chrono::system_clock::time_point(
      std::chrono::milliseconds(1767268800000)));  // 2026-01-01 12:00 UTC
  Handle(StatusChanged("01JREQ", anna, rv1::RESOLVED));
  DeliverAll();
  EXPECT_EQ(push_.count(), 0u);
  auto inbox = Inbox(anna);
  ASSERT_EQ(inbox.size(), 1u);
  bool deferred = false;
  for (const auto& d : inbox[0].deliveries()) {
    if (d.channel() == nv1::CHANNEL_PUSH) deferred = d.state() == nv1::DELIVERY_STATE_DEFERRED;
  }
  EXPECT_TRUE(deferred);
  clock_.Advance(12h);  // past 23:59
  DeliverAll();
  EXPECT_EQ(push_.count(), 1u);
}

// A push waiting out quiet hours keeps the token it was made for; the resident removes the
// device meanwhile, and that token gets nothing.
TEST_F(NotificationsTest, ADeviceRemovedWhileItsPushWaitsGetsNothing) {
  const std::string anna = Account("removed@example.de", "de", false);
  const std::string device = RegisterDevice(anna, "fcm-token-removed-0001");
  ASSERT_NO_FATAL_FAILURE(QuietAllDay(anna));
  clock_.Set(std::chrono::system_clock::time_point(
      std::chrono::milliseconds(1767268800000)));  // 12:00 UTC
  Handle(StatusChanged("01JREQ", anna, rv1::RESOLVED));
  DeliverAll();
  ASSERT_EQ(push_.count(), 0u);
  nv1::DeleteDeviceRequest remove;
  remove.set_device_id(device);
  nv1::DeleteDeviceResponse removed;
  ASSERT_TRUE(stub_->DeleteDevice(As(anna).get(), remove, &removed).ok());
  clock_.Advance(12h);  // past the quiet hours
  DeliverAll();
  EXPECT_EQ(push_.count(), 0u);
  const auto inbox = Inbox(anna);
  ASSERT_EQ(inbox.size(), 1u);
  bool skipped = false;
  for (const auto& d : inbox[0].deliveries()) {
    if (d.channel() == nv1::CHANNEL_PUSH) skipped = d.state() == nv1::DELIVERY_STATE_SKIPPED;
  }
  EXPECT_TRUE(skipped);
  EXPECT_EQ(client().Command({"ZCARD", keys::kJobs})->integer(), 0);
}

// The account is erased while a push to it is under way and then fails: the retry must not
// write the job (with its token) back.
TEST_F(NotificationsTest, AnAccountErasedDuringADeliveryIsNotBroughtBackByItsRetry) {
  const std::string anna = Account("midway@example.de", "de", false);
  RegisterDevice(anna, "fcm-token-midway-0001");
  push_.Respond([&](const auto&) {
    ev::Event deleted = Event();
    deleted.mutable_account_deleted()->set_account_id(anna);
    EXPECT_TRUE(fanout_->Handle(deleted.SerializeAsString()).ok());
    return std::make_pair(503, std::string("{}"));
  });
  Handle(StatusChanged("01JREQ", anna, rv1::RESOLVED));
  ASSERT_TRUE(delivery_->RunOne());
  ASSERT_EQ(push_.count(), 1u);
  EXPECT_TRUE(client().Command({"KEYS", keys::Job("*")})->elements().empty());
  for (int i = 0; i < 10; ++i) {
    clock_.Advance(1s);
    DeliverAll();
  }
  EXPECT_EQ(push_.count(), 1u);
  EXPECT_TRUE(client()
                  .Command({"KEYS", infra::StrCat(keys::kService, ":*", anna, "*")})
                  ->elements()
                  .empty());
  EXPECT_EQ(client().Command({"ZCARD", keys::kJobs})->integer(), 0);
}

// Not an error answer but nobody there: a port that refuses connections.
TEST_F(NotificationsTest, AnUnreachableReceiverIsRetriedThenDeadLettered) {
  int closed_port = 0;
  {
    cityhub::testing::HttpSink gone;  // a port that was just free, now closed again
    closed_port = std::atoi(gone.url("/").substr(gone.url("/").rfind(':') + 1).c_str());
  }
  ASSERT_GT(closed_port, 0);
  DeliveryOptions d;
  d.push_endpoint =
      "http://127.0.0.1:" + std::to_string(closed_port) + "/v1/projects/cityhub/messages:send";
  d.backoff_base = 1ms;
  d.backoff_max = 2ms;
  d.max_attempts = 3;
  d.timeout = 2s;
  infra::MetricsRegistry metrics;
  Delivery delivery(client(), *store_, d, clock_, metrics);
  const std::string anna = Account("nobody@example.de", "de", false);
  RegisterDevice(anna, "fcm-token-nobody-001");
  Handle(StatusChanged("01JREQ", anna, rv1::RESOLVED));
  int attempts = 0;
  for (int i = 0; i < 10; ++i) {
    clock_.Advance(1s);
    attempts += delivery.RunOne() ? 1 : 0;
  }
  EXPECT_EQ(attempts, 3);
  auto dead = client().Command({"XRANGE", keys::kDead, "-", "+"});
  ASSERT_EQ(dead->elements().size(), 1u);
  const std::string reason = dead->elements()[0].elements()[1].elements().back().str();
  EXPECT_THAT(reason, StartsWith("push provider unreachable")) << reason;
  EXPECT_EQ(client().Command({"ZCARD", keys::kJobs})->integer(), 0);
}

TEST_F(NotificationsTest, AReceiverThatStaysDownIsRetriedThenDeadLettered) {
  const std::string anna = Account("down@example.de", "de", false);
  RegisterDevice(anna, "fcm-token-down-0001");
  push_.Respond([](const auto&) { return std::make_pair(503, std::string("{}")); });
  Handle(StatusChanged("01JREQ", anna, rv1::RESOLVED));
  for (int i = 0; i < 10; ++i) {
    clock_.Advance(1s);
    delivery_->RunOne();
  }
  EXPECT_EQ(push_.count(), 3u);  // max_attempts
  auto dead = client().Command({"XRANGE", keys::kDead, "-", "+"});
  ASSERT_EQ(dead->elements().size(), 1u);
  const auto& f = dead->elements()[0].elements()[1].elements();
  std::map<std::string, std::string> fields;
  for (size_t i = 0; i + 1 < f.size(); i += 2) fields[f[i].str()] = f[i + 1].str();
  EXPECT_EQ(fields["reason"], "push provider answered 503");
  EXPECT_EQ(fields["attempts"], "3");
  EXPECT_THAT(dead->elements()[0].elements()[1].elements()[1].str(), Not(HasSubstr("fcm-token")));
  const auto inbox = Inbox(anna);
  for (const auto& d : inbox[0].deliveries()) {
    if (d.channel() == nv1::CHANNEL_PUSH) {
      EXPECT_EQ(d.state(), nv1::DELIVERY_STATE_FAILED);
      EXPECT_EQ(d.attempts(), 3);
      EXPECT_EQ(d.reason(), "push provider answered 503");
    }
  }
}

TEST_F(NotificationsTest, TokensTheProviderRejectsAsUnregisteredAreRemoved) {
  const std::string anna = Account("gone@example.de", "de", false);
  RegisterDevice(anna, "fcm-token-gone-0001");
  push_.Respond([](const auto&) {
    return std::make_pair(
        404, std::string(
                 R"({"error":{"status":"NOT_FOUND","details":[{"errorCode":"UNREGISTERED"}]}})"));
  });
  Handle(StatusChanged("01JREQ", anna, rv1::RESOLVED));
  DeliverAll();
  nv1::ListDevicesResponse devices;
  ASSERT_TRUE(stub_->ListDevices(As(anna).get(), {}, &devices).ok());
  EXPECT_EQ(devices.devices_size(), 0);
}

TEST_F(NotificationsTest, WebhooksAreFilteredSignedAndRetried) {
  cityhub::testing::HttpSink partner;
  nv1::CreateWebhookRequest create;
  create.set_url(partner.url("/hooks/cityhub"));
  create.add_event_types("RequestStatusChanged");
  create.add_service_codes("pothole");
  nv1::Webhook hook;
  EXPECT_EQ(
      stub_->CreateWebhook(As("01JCITIZEN0000000000000000").get(), create, &hook).error_code(),
      grpc::StatusCode::PERMISSION_DENIED);
  ASSERT_TRUE(
      stub_->CreateWebhook(As("01JADMIN00000000000000000A", {"admin"}).get(), create, &hook).ok());
  ASSERT_EQ(hook.secret().size(), 43u);
  int calls = 0;
  partner.Respond(
      [&](const auto&) { return std::make_pair(++calls == 1 ? 500 : 204, std::string()); });
  Handle(StatusChanged("01JREQ1", "", rv1::RESOLVED, "pothole"));
  Handle(StatusChanged("01JREQ2", "", rv1::RESOLVED, "graffiti"));  // filtered out
  for (int i = 0; i < 5; ++i) {
    clock_.Advance(1s);
    DeliverAll();
  }
  const auto got = partner.received();
  ASSERT_EQ(got.size(), 2u);  // one failure, one retry
  const auto& r = got[1];
  EXPECT_EQ(r.headers.at("x-cityhub-event"), "RequestStatusChanged");
  const int64_t ts = std::stoll(r.headers.at("x-cityhub-timestamp"));
  EXPECT_EQ(r.headers.at("x-cityhub-signature"),
            "sha256=" + WebhookSignature(hook.secret(), ts, r.body));
  const auto body = nlohmann::json::parse(r.body);
  EXPECT_EQ(body["data"]["request_id"], "01JREQ1");
  EXPECT_EQ(body["data"]["status"], "RESOLVED");
  EXPECT_EQ(body["data"]["public_note"], "Wir kümmern uns.");
  EXPECT_THAT(r.body, Not(HasSubstr("owner")));
}

TEST_F(NotificationsTest, ADeletedWebhookGetsNothingMoreNotEvenRetries) {
  cityhub::testing::HttpSink partner;
  nv1::CreateWebhookRequest create;
  create.set_url(partner.url("/hooks/cityhub"));
  create.add_event_types("RequestStatusChanged");
  nv1::Webhook hook;
  const auto admin = [&] { return As("01JADMIN00000000000000000A", {"admin"}); };
  ASSERT_TRUE(stub_->CreateWebhook(admin().get(), create, &hook).ok());
  partner.Respond([](const auto&) { return std::make_pair(503, std::string()); });
  Handle(StatusChanged("01JREQ1", "", rv1::RESOLVED));
  ASSERT_TRUE(delivery_->RunOne());
  ASSERT_EQ(partner.count(), 1u);  // failed once, a retry is queued
  nv1::DeleteWebhookRequest del;
  del.set_webhook_id(hook.webhook_id());
  nv1::DeleteWebhookResponse deleted;
  ASSERT_TRUE(stub_->DeleteWebhook(admin().get(), del, &deleted).ok());
  for (int i = 0; i < 5; ++i) {
    clock_.Advance(1s);
    DeliverAll();
  }
  EXPECT_EQ(partner.count(), 1u);
  auto dead = client().Command({"XRANGE", keys::kDead, "-", "+"});
  ASSERT_EQ(dead->elements().size(), 1u);
  EXPECT_THAT(dead->elements()[0].elements()[1].elements().back().str(),
              HasSubstr("webhook deleted"));
}

TEST_F(NotificationsTest, OperatorsOfTheDepartmentHearOfNewRequests) {
  const std::string clerk =
      Account("clerk@bielefeld.de", "de", true, {"citizen", "operator"}, {"roads"});
  ev::Event roles = Event();
  roles.mutable_roles_changed()->set_account_id(clerk);
  roles.mutable_roles_changed()->add_roles("operator");
  roles.mutable_roles_changed()->add_departments("roads");
  Handle(roles);
  ev::Event created = Event();
  auto* c = created.mutable_request_created();
  c->set_request_id("01JNEW");
  c->set_department("roads");
  c->set_service_code("pothole");
  c->set_address("Niederwall 23");
  c->set_service_name_de("Schlagloch");
  Handle(created);
  DeliverAll();
  const auto inbox = Inbox(clerk);
  ASSERT_EQ(inbox.size(), 1u);
  EXPECT_EQ(inbox[0].title(), "Neue Meldung: Schlagloch");
  EXPECT_EQ(inbox[0].body(), "Niederwall 23");
  EXPECT_EQ(smtp_.Mails().size(), 0u);  // department news: inbox only by default
}

// Issue 14: a rerouted request is new work for the new department (inbox, like a new one) and
// news for partners that asked for RequestRerouted; the old department hears nothing.
TEST_F(NotificationsTest, OperatorsOfTheNewDepartmentAndWebhooksHearOfReroutedRequests) {
  const std::string roads =
      Account("roads@bielefeld.de", "de", true, {"citizen", "operator"}, {"roads"});
  const std::string lights =
      Account("lights@bielefeld.de", "de", true, {"citizen", "operator"}, {"street-lighting"});
  for (const auto& [account, department] :
       {std::pair{roads, "roads"}, std::pair{lights, "street-lighting"}}) {
    ev::Event roles = Event();
    roles.mutable_roles_changed()->set_account_id(account);
    roles.mutable_roles_changed()->add_roles("operator");
    roles.mutable_roles_changed()->add_departments(department);
    Handle(roles);
  }
  cityhub::testing::HttpSink partner;
  nv1::CreateWebhookRequest create;
  create.set_url(partner.url("/hooks/cityhub"));
  create.add_event_types("RequestRerouted");
  create.add_service_codes("damaged_sign");
  nv1::Webhook hook;
  ASSERT_TRUE(
      stub_->CreateWebhook(As("01JADMIN00000000000000000A", {"admin"}).get(), create, &hook).ok());
  ev::Event moved = Event();
  auto* m = moved.mutable_request_rerouted();
  m->set_request_id("01JMOVED");
  m->set_from_service_code("streetlight");
  m->set_to_service_code("damaged_sign");
  m->set_from_department("street-lighting");
  m->set_to_department("roads");
  m->set_owner_account_id("01JOWNER");
  m->set_address("Niederwall 23");
  m->set_public_note("Weitergeleitet.");
  m->set_status(rv1::SUBMITTED);
  m->set_service_name_de("Beschädigtes Schild");
  Handle(moved);
  DeliverAll();
  const auto inbox = Inbox(roads);
  ASSERT_EQ(inbox.size(), 1u);
  EXPECT_EQ(inbox[0].title(), "Meldung an Sie weitergeleitet: Beschädigtes Schild");
  EXPECT_EQ(inbox[0].request_id(), "01JMOVED");
  EXPECT_TRUE(Inbox(lights).empty());
  const auto got = partner.received();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].headers.at("x-cityhub-event"), "RequestRerouted");
  const auto body = nlohmann::json::parse(got[0].body);
  EXPECT_EQ(body["data"]["service_code"], "damaged_sign");
  EXPECT_EQ(body["data"]["from_service_code"], "streetlight");
  EXPECT_EQ(body["data"]["department"], "roads");
  EXPECT_THAT(got[0].body, Not(HasSubstr("01JOWNER")));
}

// An empty body (or {}) switched every channel off.
TEST_F(NotificationsTest, PreferencesWithoutAnyChannelAreRefusedNamingTheField) {
  const std::string anna = Account("empty-prefs@example.de", "de", true);
  nv1::NotificationPreferences saved;
  for (bool with_empty_object : {false, true}) {
    nv1::UpdatePreferencesRequest update;
    if (with_empty_object) update.mutable_preferences();
    const grpc::Status s = stub_->UpdatePreferences(As(anna).get(), update, &saved);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(s.error_message(), HasSubstr("inbox:"));
  }
  nv1::GetPreferencesRequest get;
  ASSERT_TRUE(stub_->GetPreferences(As(anna).get(), get, &saved).ok());
  EXPECT_TRUE(saved.inbox().own_requests());  // still the defaults
  EXPECT_TRUE(saved.email().own_requests());
}

TEST_F(NotificationsTest, TheInboxPagesCountsAndMarksRead) {
  const std::string anna = Account("inbox@example.de", "de", false);
  for (int i = 0; i < 5; ++i) {
    clock_.Advance(1s);
    Handle(StatusChanged("01JREQ", anna, i % 2 ? rv1::IN_PROGRESS : rv1::ACKNOWLEDGED));
  }
  nv1::ListNotificationsRequest req;
  req.set_page_size(3);
  nv1::ListNotificationsResponse page1, page2;
  ASSERT_TRUE(stub_->ListNotifications(As(anna).get(), req, &page1).ok());
  ASSERT_EQ(page1.notifications_size(), 3);
  req.set_page_token(page1.next_page_token());
  ASSERT_TRUE(stub_->ListNotifications(As(anna).get(), req, &page2).ok());
  ASSERT_EQ(page2.notifications_size(), 2);
  EXPECT_GT(page1.notifications(2).notification_id(), page2.notifications(0).notification_id());
  nv1::MarkReadRequest mark;
  mark.set_notification_id(page1.notifications(0).notification_id());
  nv1::Notification marked;
  ASSERT_TRUE(stub_->MarkRead(As(anna).get(), mark, &marked).ok());
  EXPECT_TRUE(marked.read());
  EXPECT_EQ(stub_->MarkRead(As(Account("other@example.de", "de", false)).get(), mark, &marked)
                .error_code(),
            grpc::StatusCode::NOT_FOUND);
  nv1::UnreadCount count;
  ASSERT_TRUE(stub_->GetUnreadCount(As(anna).get(), {}, &count).ok());
  EXPECT_EQ(count.count(), 4);
  nv1::ListNotificationsRequest unread;
  unread.set_unread_only(true);
  nv1::ListNotificationsResponse u;
  ASSERT_TRUE(stub_->ListNotifications(As(anna).get(), unread, &u).ok());
  EXPECT_EQ(u.notifications_size(), 4);
  ASSERT_TRUE(stub_->MarkAllRead(As(anna).get(), {}, &count).ok());
  ASSERT_TRUE(stub_->GetUnreadCount(As(anna).get(), {}, &count).ok());
  EXPECT_EQ(count.count(), 0);
}

// The inbox page completes through the async client from the callback thread: a full executor
// does not hold it.
TEST_F(FullNotificationsExecutorTest, TheInboxPageAnswersWhileTheExecutorIsFull) {
  const std::string anna = Account("full-inbox@example.org", "de", true);
  clock_.Advance(1s);
  Handle(StatusChanged("01JREQ", anna, rv1::ACKNOWLEDGED));
  FillExecutor(anna);

  const auto start = std::chrono::steady_clock::now();
  nv1::ListNotificationsResponse page;
  const grpc::Status listed = stub_->ListNotifications(As(anna).get(), {}, &page);
  EXPECT_TRUE(listed.ok()) << listed.error_message();
  EXPECT_EQ(page.notifications_size(), 1);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 200ms);
  DrainExecutor();
}

// Ids of one millisecond (a burst) can share their score in the inbox; paging must still walk
// through every entry.
TEST_F(NotificationsTest, TheInboxPagesThroughEntriesThatShareTheirTime) {
  const std::string anna = Account("burst@example.de", "de", false);
  std::set<std::string> written;
  for (int i = 0; i < 12; ++i) {
    EventEffects effects;
    // The same 13 leading characters: the same score.
    StoredNotification n =
        StatusEntry(anna, "01JBXRST00000" + std::string(12, 'A') + "ABCDEFGHJKMN"[i]);
    n.set_title("t");
    effects.inbox.push_back(n);
    ASSERT_TRUE(store_->events.ApplyOnce("burst-event-" + std::to_string(i), effects).ok());
    written.insert(n.id());
  }
  std::vector<std::string> seen;
  std::string page;
  for (int pages = 0; pages < 20; ++pages) {
    nv1::ListNotificationsRequest req;
    req.set_page_size(5);
    req.set_page_token(page);
    nv1::ListNotificationsResponse res;
    ASSERT_TRUE(stub_->ListNotifications(As(anna).get(), req, &res).ok());
    for (const auto& n : res.notifications()) seen.push_back(n.notification_id());
    page = res.next_page_token();
    if (page.empty()) break;
  }
  EXPECT_EQ(seen.size(), written.size());
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()), written);
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end(), std::greater<>()));
}

// A page of 20 is two round trips on the async client: its ids, then one pipeline of the
// entries, their read marks and delivery states. (A read-only script doing both in one round
// trip cost Redis twice the time per page: docs/bench.md.)
TEST_F(NotificationsTest, AnInboxPageIsItsIdsThenOnePipeline) {
  const std::string anna = Account("onetrip@example.de", "de", false);
  std::vector<std::string> ids;
  for (int i = 0; i < 25; ++i) {
    EventEffects effects;
    clock_.Advance(1ms);
    StoredNotification n = StatusEntry(anna, infra::NewUlid(clock_));
    n.set_title("title " + std::to_string(i));
    n.set_created_ms(infra::UnixMillis(clock_.Now()));
    effects.inbox.push_back(n);
    ASSERT_TRUE(store_->events.ApplyOnce("trip-" + std::to_string(i), effects).ok());
    ids.push_back(n.id());
  }
  ASSERT_TRUE(store_->inbox.MarkRead(anna, ids[23]).ok());
  ASSERT_TRUE(client().Command({"CONFIG", "RESETSTAT"}).ok());
  nv1::ListNotificationsRequest req;
  req.set_page_size(20);
  nv1::ListNotificationsResponse page;
  const grpc::Status s = stub_->ListNotifications(As(anna).get(), req, &page);
  ASSERT_TRUE(s.ok()) << s.error_message();
  std::map<std::string, int> calls = CommandCalls();
  EXPECT_EQ(calls["zrevrangebyscore"], 1);
  EXPECT_EQ(calls["mget"], 1);
  EXPECT_EQ(calls["smismember"], 1);
  EXPECT_EQ(calls["hgetall"], 21);

  ASSERT_EQ(page.notifications_size(), 20);
  for (int i = 0; i < 20; ++i) {
    const auto& n = page.notifications(i);
    EXPECT_EQ(n.notification_id(), ids[24 - i]);
    EXPECT_EQ(n.title(), "title " + std::to_string(24 - i));
    EXPECT_EQ(n.read(), 24 - i == 23);
    ASSERT_EQ(n.deliveries_size(), 1);
    EXPECT_EQ(n.deliveries(0).channel(), nv1::CHANNEL_INBOX);
    EXPECT_EQ(n.deliveries(0).state(), nv1::DELIVERY_STATE_SENT);
  }
  EXPECT_EQ(page.next_page_token(), ids[5]);
  // The unread page skips the read entry and keeps the inbox's order.
  req.set_unread_only(true);
  req.set_page_size(3);
  nv1::ListNotificationsResponse unread;
  ASSERT_TRUE(stub_->ListNotifications(As(anna).get(), req, &unread).ok());
  ASSERT_EQ(unread.notifications_size(), 3);
  EXPECT_EQ(unread.notifications(0).notification_id(), ids[24]);
  EXPECT_EQ(unread.notifications(1).notification_id(), ids[22]);
  EXPECT_EQ(unread.notifications(2).notification_id(), ids[21]);
  EXPECT_EQ(unread.next_page_token(), ids[21]);
  req.set_page_token(unread.next_page_token());
  ASSERT_TRUE(stub_->ListNotifications(As(anna).get(), req, &unread).ok());
  ASSERT_EQ(unread.notifications_size(), 3);
  EXPECT_EQ(unread.notifications(0).notification_id(), ids[20]);
}

// Redis does not undo a script that fails half-way: such an event must not count as handled.
TEST_F(NotificationsTest, AnEventWhoseWritesFailHalfWayIsAppliedWhenRetried) {
  const std::string anna = Account("halfway@example.de", "de", false);
  EventEffects effects;
  StoredNotification n = StatusEntry(anna, infra::NewUlid(clock_));
  effects.inbox.push_back(n);
  const std::string unread = keys::Unread(anna);
  ASSERT_TRUE(client().Command({"SET", unread, "not a set"}).ok());  // the SADD will fail
  EXPECT_FALSE(store_->events.ApplyOnce("halfway-event", effects).ok());
  ASSERT_TRUE(client().Command({"DEL", unread}).ok());
  auto retried = store_->events.ApplyOnce("halfway-event", effects);
  ASSERT_TRUE(retried.ok()) << retried.status();
  EXPECT_TRUE(*retried);
  EXPECT_FALSE(*store_->events.ApplyOnce("halfway-event", effects));  // and only once
  EXPECT_EQ(Inbox(anna).size(), 1u);
  EXPECT_EQ(store_->inbox.UnreadCount(anna).value(), 1);
  EXPECT_EQ(client().Command({"ZCARD", keys::Feed(anna)})->integer(), 1);
}

TEST_F(NotificationsTest, AnInboxKeepsItsNewestEntriesAndDropsTheRestWhole) {
  const std::string anna = Account("full@example.de", "de", false);
  const int total = kInboxCap + 51;  // one past the slack: the first trim
  std::vector<std::string> ids;
  for (int i = 0; i < total; ++i) {
    EventEffects effects;
    clock_.Advance(1ms);
    const StoredNotification n = StatusEntry(anna, infra::NewUlid(clock_));
    effects.inbox.push_back(n);
    ASSERT_TRUE(store_->events.ApplyOnce("fill-" + std::to_string(i), effects).ok());
    ids.push_back(n.id());
  }
  EXPECT_EQ(client().Command({"ZCARD", keys::Inbox(anna)})->integer(), kInboxCap);
  EXPECT_EQ(client().Command({"ZCARD", keys::Feed(anna)})->integer(), kInboxCap);
  EXPECT_EQ(store_->inbox.UnreadCount(anna).value(), kInboxCap);
  // The oldest 51 are gone with their keys; the newest stay.
  for (int i = 0; i < total; ++i) {
    const bool kept = i >= total - kInboxCap;
    EXPECT_EQ(client().Command({"EXISTS", keys::Notification(ids[i])})->integer(), kept ? 1 : 0)
        << i;
    EXPECT_EQ(client().Command({"EXISTS", keys::Deliveries(ids[i])})->integer(), kept ? 1 : 0) << i;
  }
}

TEST_F(NotificationsTest, TheLiveStreamResumesWithoutGapsOrDuplicates) {
  const std::string anna = Account("live@example.de", "de", false);
  std::vector<std::string> seen;
  auto read = [&](const std::string& after, int want) {
    auto ctx = As(anna);
    nv1::StreamNotificationsRequest req;
    req.set_after_id(after);
    auto reader = stub_->StreamNotifications(ctx.get(), req);
    nv1::Notification n;
    for (int i = 0; i < want && reader->Read(&n); ++i) seen.push_back(n.notification_id());
    ctx->TryCancel();
    reader->Finish();
  };
  for (int i = 0; i < 5; ++i) {
    clock_.Advance(1s);
    Handle(StatusChanged("01JREQ", anna, rv1::ACKNOWLEDGED));
  }
  // First connection: from the beginning of the inbox, read three, then drop.
  read(std::string(26, '0'), 3);
  ASSERT_EQ(seen.size(), 3u);
  for (int i = 0; i < 5; ++i) {
    clock_.Advance(1s);
    Handle(StatusChanged("01JREQ", anna, rv1::IN_PROGRESS));
  }
  // Resume after the last id seen: the other seven, once each, in order.
  read(seen.back(), 7);
  ASSERT_EQ(seen.size(), 10u);
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(), 10u);

  // A live connection gets new entries as they happen (and none from before it opened; the
  // test clock stands still otherwise).
  clock_.Advance(1ms);
  auto ctx = As(anna);
  nv1::StreamNotificationsRequest req;
  auto reader = stub_->StreamNotifications(ctx.get(), req);
  std::thread later([&] {
    std::this_thread::sleep_for(200ms);
    Handle(StatusChanged("01JREQ", anna, rv1::RESOLVED));
  });
  nv1::Notification n;
  ASSERT_TRUE(reader->Read(&n));
  EXPECT_THAT(n.title(), HasSubstr("erledigt"));
  later.join();
  ctx->TryCancel();
  reader->Finish();
}

// Notification ids carry their event's time, but events are not handled in time order: one
// retried after a failure, or handled by a slower replica, writes an older id after newer ones.
// The stream follows the order of writing, so such entries are neither lost live nor on resume.
TEST_F(NotificationsTest, TheLiveStreamSendsEntriesWrittenLateWithOlderIds) {
  const std::string anna = Account("late@example.de", "de", false);
  const ev::Event early = StatusChanged("01JREQA", anna, rv1::ACKNOWLEDGED);
  clock_.Advance(10s);
  const ev::Event newer = StatusChanged("01JREQB", anna, rv1::ACKNOWLEDGED);
  const ev::Event earlier_still = [&] {
    clock_.Advance(-20s);
    ev::Event e = StatusChanged("01JREQC", anna, rv1::IN_PROGRESS);
    clock_.Advance(20s);
    return e;
  }();
  Handle(newer);

  auto open = [&](const std::string& after) {
    auto ctx = As(anna);
    nv1::StreamNotificationsRequest req;
    req.set_after_id(after);
    auto reader = stub_->StreamNotifications(ctx.get(), req);
    return std::make_pair(std::move(ctx), std::move(reader));
  };
  std::vector<nv1::Notification> seen;
  {
    auto [ctx, reader] = open(std::string(26, '0'));
    nv1::Notification n;
    ASSERT_TRUE(reader->Read(&n));
    seen.push_back(n);
    // Live: an entry with an older id than the one just sent.
    Handle(early);
    ASSERT_TRUE(reader->Read(&n));
    seen.push_back(n);
    ctx->TryCancel();
    reader->Finish();
  }
  EXPECT_EQ(seen[0].request_id(), "01JREQB");
  EXPECT_EQ(seen[1].request_id(), "01JREQA");
  EXPECT_LT(seen[1].notification_id(), seen[0].notification_id());

  // While disconnected, another late one; resuming after the last id seen brings exactly it.
  Handle(earlier_still);
  {
    auto [ctx, reader] = open(seen.back().notification_id());
    nv1::Notification n;
    ASSERT_TRUE(reader->Read(&n));
    EXPECT_EQ(n.request_id(), "01JREQC");
    // And then nothing already sent: the next entry is a new one.
    clock_.Advance(1s);
    Handle(StatusChanged("01JREQD", anna, rv1::RESOLVED));
    ASSERT_TRUE(reader->Read(&n));
    EXPECT_EQ(n.request_id(), "01JREQD");
    ctx->TryCancel();
    reader->Finish();
  }

  // "From now on" means entries written from now on, whatever time their events carry.
  {
    const ev::Event before_open = [&] {
      clock_.Advance(-1h);
      ev::Event e = StatusChanged("01JREQE", anna, rv1::CLOSED);
      clock_.Advance(1h);
      return e;
    }();
    const size_t positioned = live_->positioned();
    auto [ctx, reader] = open("");
    // The stream takes "now" on its first look at the feed; write after that.
    ASSERT_TRUE(cityhub::testing::WaitFor([&] { return live_->positioned() > positioned; }, 5s));
    Handle(before_open);
    nv1::Notification n;
    ASSERT_TRUE(reader->Read(&n));
    EXPECT_EQ(n.request_id(), "01JREQE");
    ctx->TryCancel();
    reader->Finish();
  }
}

TEST_F(NotificationsTest, BadInputIsRefusedNamingTheField) {
  const std::string anna = Account("bad@example.de", "de", false);
  // Each refusal is INVALID_ARGUMENT and names the field first.
  const auto refused = [](const grpc::Status& s, const std::string& field) {
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << field << ": " << s.error_message();
    EXPECT_THAT(s.error_message(), ::testing::StartsWith(field + ":"));
  };
  nv1::RegisterDeviceRequest device;
  nv1::Device d;
  device.set_platform("blackberry");
  device.set_push_token("t");
  refused(stub_->RegisterDevice(As(anna).get(), device, &d), "platform");
  device.set_platform("ios");
  device.set_push_token(std::string(10 * 1024, 'a'));
  refused(stub_->RegisterDevice(As(anna).get(), device, &d), "push_token");
  nv1::CreateWebhookRequest hook;
  hook.set_url("ftp://partner.example/hook");
  hook.add_event_types("RequestCreated");
  nv1::Webhook w;
  refused(stub_->CreateWebhook(As(anna, {"admin"}).get(), hook, &w), "url");
  hook.set_url("https://partner.example/hook");
  hook.set_event_types(0, "AccountDeleted");
  refused(stub_->CreateWebhook(As(anna, {"admin"}).get(), hook, &w), "event_types");
  nv1::UpdatePreferencesRequest prefs;
  prefs.mutable_preferences()->mutable_push_quiet_hours()->set_enabled(true);
  prefs.mutable_preferences()->mutable_push_quiet_hours()->set_start("25:00");
  nv1::NotificationPreferences saved;
  refused(stub_->UpdatePreferences(As(anna).get(), prefs, &saved), "push_quiet_hours.start");
  prefs.mutable_preferences()->mutable_push_quiet_hours()->set_start("22:00");
  prefs.mutable_preferences()->mutable_push_quiet_hours()->set_time_zone("Mars/Olympus");
  refused(stub_->UpdatePreferences(As(anna).get(), prefs, &saved), "push_quiet_hours.time_zone");
}

TEST_F(NotificationsTest, ExportHoldsEverythingAndDeletionErasesIt) {
  const std::string anna = Account("leaving@example.de", "de", true);
  RegisterDevice(anna, "fcm-token-leaving-01");
  ev::Event followed = Event();
  followed.mutable_request_followed()->set_request_id("01JREQ");
  followed.mutable_request_followed()->set_account_id(anna);
  Handle(followed);
  push_.Respond([](const auto&) { return std::make_pair(503, std::string("{}")); });
  Handle(StatusChanged("01JOWN", anna, rv1::RESOLVED));
  nv1::ExportUserDataRequest ask;
  ask.set_account_id(anna);
  nv1::UserDataExport data;
  EXPECT_EQ(stub_->ExportUserData(As(anna).get(), ask, &data).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  grpc::ClientContext internal;
  internal.AddMetadata("x-cityhub-internal", kInternal);
  ASSERT_TRUE(stub_->ExportUserData(&internal, ask, &data).ok());
  ASSERT_EQ(data.notifications_size(), 1);
  EXPECT_EQ(data.devices_size(), 1);
  EXPECT_TRUE(data.preferences().email().own_requests());
  // Keys named by notification or job id hold the resident's texts, address and push token.
  const std::string id = data.notifications(0).notification_id();
  const auto jobs = client().Command({"SMEMBERS", keys::JobsOf(anna)});
  ASSERT_EQ(jobs->elements().size(), 2u);  // push and e-mail, not delivered yet
  std::vector<std::string> named = {keys::Notification(id), keys::Deliveries(id)};
  for (const auto& j : jobs->elements()) named.push_back(keys::Job(j.str()));
  for (const auto& key : named) EXPECT_EQ(client().Command({"EXISTS", key})->integer(), 1) << key;

  ev::Event deleted = Event();
  deleted.mutable_account_deleted()->set_account_id(anna);
  Handle(deleted);
  auto keys = client().Command({"KEYS", infra::StrCat(keys::kService, ":*", anna, "*")});
  EXPECT_TRUE(keys->elements().empty());
  for (const auto& key : named) EXPECT_EQ(client().Command({"EXISTS", key})->integer(), 0) << key;
  for (const auto& j : jobs->elements()) {
    EXPECT_TRUE(client().Command({"ZSCORE", keys::kJobs, j.str()})->is_nil());
  }
  EXPECT_TRUE(store_->follows.Followers("01JREQ")->empty());
  EXPECT_TRUE(Inbox(anna).empty());

  // Events about the account that are handled after its deletion (late, redelivered, on
  // another replica) bring nothing back.
  ev::Event late_follow = Event();
  late_follow.mutable_request_followed()->set_request_id("01JREQ2");
  late_follow.mutable_request_followed()->set_account_id(anna);
  Handle(late_follow);
  ev::Event late_roles = Event();
  late_roles.mutable_roles_changed()->set_account_id(anna);
  late_roles.mutable_roles_changed()->add_roles("operator");
  late_roles.mutable_roles_changed()->add_departments("roads");
  Handle(late_roles);
  EXPECT_TRUE(store_->follows.Followers("01JREQ2")->empty());
  EXPECT_TRUE(store_->follows.Operators("roads")->empty());
  EXPECT_TRUE(client()
                  .Command({"KEYS", infra::StrCat(keys::kService, ":*", anna, "*")})
                  ->elements()
                  .empty());
}

TEST_F(NotificationsTest, DeliveriesWithoutAnInboxEntryLeaveNoStateBehind) {
  const std::string anna = Account("mailonly@example.de", "de", true);
  nv1::UpdatePreferencesRequest update;
  update.mutable_preferences()->mutable_email()->set_own_requests(true);  // inbox and push off
  nv1::NotificationPreferences saved;
  ASSERT_TRUE(stub_->UpdatePreferences(As(anna).get(), update, &saved).ok());
  Handle(StatusChanged("01JREQ", anna, rv1::RESOLVED));
  DeliverAll();
  EXPECT_EQ(smtp_.Mails().size(), 1u);
  EXPECT_TRUE(Inbox(anna).empty());
  EXPECT_TRUE(client().Command({"KEYS", keys::Deliveries("*")})->elements().empty());
}

TEST_F(NotificationsTest, MailServersThatRefuseARecipientAreNotAskedAgain) {
  const std::string anna = Account("nobody@refused.invalid", "de", true);
  Handle(StatusChanged("01JREQ", anna, rv1::RESOLVED));
  for (int i = 0; i < 5; ++i) {
    clock_.Advance(1s);
    DeliverAll();
  }
  EXPECT_TRUE(smtp_.Mails().empty());
  auto dead = client().Command({"XRANGE", keys::kDead, "-", "+"});
  ASSERT_EQ(dead->elements().size(), 1u);
  const auto& f = dead->elements()[0].elements()[1].elements();
  std::map<std::string, std::string> fields;
  for (size_t i = 0; i + 1 < f.size(); i += 2) fields[f[i].str()] = f[i + 1].str();
  EXPECT_EQ(fields["reason"], "mail server refused: 550");
  EXPECT_EQ(fields["attempts"], "1");
}

TEST_F(NotificationsTest, OtherMailServerRefusalsAreRetriedThenDeadLettered) {
  for (const char* to : {"someone@busy.invalid", "someone@policy.invalid"}) {
    const std::string anna = Account(to, "de", true);
    Handle(StatusChanged(std::string("01JREQ") + (to[8] == 'b' ? "B" : "P"), anna, rv1::RESOLVED));
  }
  for (int i = 0; i < 10; ++i) {
    clock_.Advance(1s);
    DeliverAll();
  }
  EXPECT_TRUE(smtp_.Mails().empty());
  auto dead = client().Command({"XRANGE", keys::kDead, "-", "+"});
  ASSERT_EQ(dead->elements().size(), 2u);
  for (const auto& entry : dead->elements()) {
    const auto& f = entry.elements()[1].elements();
    std::map<std::string, std::string> fields;
    for (size_t i = 0; i + 1 < f.size(); i += 2) fields[f[i].str()] = f[i + 1].str();
    EXPECT_EQ(fields["attempts"], "3");  // max_attempts: retried, not given up at once
    EXPECT_THAT(fields["reason"], HasSubstr("mail server"));
  }
}

// Vectors computed with Python's hmac module, as a partner would check them:
// hmac.new(secret, f"{timestamp}.{body}".encode(), hashlib.sha256).hexdigest()
TEST(WebhookSignature, MatchesWhatAPartnerComputesWithItsOwnHmac) {
  EXPECT_EQ(WebhookSignature("whsec-test-secret", 1700000000,
                             R"({"id":"01J","type":"RequestStatusChanged"})"),
            "46f3d843deebfe3db2e311f4bd25ed65d44722f8a1be0d6ba434918048de8e4e");
  EXPECT_EQ(WebhookSignature("k", 0, ""),
            "6b4a4b8b3c40f1e8f53a3d36682e5f99f7ad2ac1df1c93dfe336f329167641e7");
}

// With credentials, a server that offers no STARTTLS gets neither the password nor the mail.
TEST_F(NotificationsTest, CredentialsAreNeverSentWithoutTls) {
  DeliveryOptions d;
  d.smtp_url = smtp_.url();
  d.smtp_user = "cityhub";
  d.smtp_password = "mail-secret";
  d.max_attempts = 1;
  d.timeout = 2s;
  infra::MetricsRegistry metrics;
  Delivery delivery(client(), *store_, d, clock_, metrics);
  const std::string anna = Account("tls@example.de", "de", false);
  ev::Event e = Event();
  e.mutable_verification_requested()->set_account_id(anna);
  e.mutable_verification_requested()->set_token("tok-tls");
  Handle(e);
  ASSERT_TRUE(delivery.RunOne());
  EXPECT_TRUE(smtp_.Mails().empty());
  auto dead = client().Command({"XRANGE", keys::kDead, "-", "+"});
  ASSERT_EQ(dead->elements().size(), 1u);
  const std::string reason = dead->elements()[0].elements()[1].elements().back().str();
  EXPECT_THAT(reason, HasSubstr("SSL")) << reason;
  EXPECT_THAT(reason, Not(HasSubstr("mail-secret")));
}

TEST_F(NotificationsTest, RetriesBackOffExponentiallyWithJitterUpToTheCap) {
  DeliveryOptions d;
  d.backoff_base = 100ms;
  d.backoff_max = 1s;
  infra::MetricsRegistry metrics;
  Delivery delivery(client(), *store_, d, clock_, metrics);
  std::set<int64_t> distinct;
  for (int attempt = 1; attempt <= 6; ++attempt) {
    const int64_t ceiling = std::min<int64_t>(1000, 100LL << (attempt - 1));
    for (int i = 0; i < 50; ++i) {
      const int64_t wait = delivery.Backoff(attempt).count();
      EXPECT_GE(wait, ceiling / 2) << "attempt " << attempt;
      EXPECT_LE(wait, ceiling) << "attempt " << attempt;
      if (attempt == 3) distinct.insert(wait);
    }
  }
  EXPECT_GT(distinct.size(), 10u);  // jittered, not one fixed wait
}

// Issue 18, item 10: a comment on a request whose category keeps its details private reaches
// the reporter with its text; followers are not told (they could not read it in the app) and
// webhooks get the event without the text. Public categories' comments reach all three.
TEST_F(NotificationsTest, ACommentOnPrivateDetailsReachesFollowersAndWebhooksWithoutItsText) {
  const std::string owner = Account("private-owner@example.de", "de", true);
  const std::string follower = Account("private-follower@example.de", "de", true);
  cityhub::testing::HttpSink partner;
  nv1::CreateWebhookRequest create;
  create.set_url(partner.url("/hooks/cityhub"));
  create.add_event_types("CommentAdded");
  nv1::Webhook hook;
  ASSERT_TRUE(
      stub_->CreateWebhook(As("01JADMIN00000000000000000A", {"admin"}).get(), create, &hook).ok());
  for (const std::string request : {"01JPRIVATE", "01JPUBLIC"}) {
    ev::Event followed = Event();
    followed.mutable_request_followed()->set_request_id(request);
    followed.mutable_request_followed()->set_account_id(follower);
    Handle(followed);
    ev::Event c = Event();
    auto* added = c.mutable_comment_added();
    added->set_request_id(request);
    added->set_comment_id(request + "-comment");
    added->set_service_code("noise");
    added->set_owner_account_id(owner);
    added->set_author_account_id("01JSTAFF00000000000000000A");
    added->set_author_role("staff");
    added->set_text("Wir sprechen mit Hausnummer 12 (" + request + ").");
    added->set_details_public(request == "01JPUBLIC");
    Handle(c);
  }
  DeliverAll();

  const auto owners = Inbox(owner);
  ASSERT_EQ(owners.size(), 2u);
  for (const auto& n : owners) EXPECT_THAT(n.body(), HasSubstr("Hausnummer 12"));
  const auto followers = Inbox(follower);
  ASSERT_EQ(followers.size(), 1u);
  EXPECT_EQ(followers[0].request_id(), "01JPUBLIC");
  int follower_mails = 0;
  for (const auto& mail : smtp_.Mails()) {
    if (mail.find("X-Sink-Rcpt: private-follower@example.de") == std::string::npos) continue;
    ++follower_mails;
    EXPECT_THAT(cityhub::testing::MailText(mail), Not(HasSubstr("01JPRIVATE")));
  }
  EXPECT_EQ(follower_mails, 1);

  const auto got = partner.received();
  ASSERT_EQ(got.size(), 2u);
  for (const auto& r : got) {
    const auto body = nlohmann::json::parse(r.body);
    if (body["data"]["request_id"] == "01JPRIVATE") {
      EXPECT_FALSE(body["data"].contains("text"));
      EXPECT_EQ(body["data"]["details_public"], false);
      EXPECT_THAT(r.body, Not(HasSubstr("Hausnummer")));
    } else {
      EXPECT_EQ(body["data"]["text"], "Wir sprechen mit Hausnummer 12 (01JPUBLIC).");
    }
  }
}

// Issue 18, item 11: after DeleteMe, the access token still verifies for minutes. Writes that
// come before the notifications service has handled AccountDeleted are erased with the rest
// (the marker is set first, then the data erased); from then on, and in accounts at once, every
// write with the token is refused and nothing of the account is stored again.
TEST_F(NotificationsTest, ADeletedAccountsStillValidTokenWritesNothing) {
  constexpr char kPassword[] = "a-long-enough-password-1";
  const std::string anna = Account("deleting@example.de", "de", true);
  ASSERT_TRUE(
      account_store_->Update(anna, {{"password_hash", *hasher_->Hash(kPassword)}}, {}).ok());
  auto accounts = cityhub::accounts::v1::AccountsService::NewStub(grpc::CreateChannel(
      "127.0.0.1:" + std::to_string(accounts_server_->port()), grpc::InsecureChannelCredentials()));
  RegisterDevice(anna, "fcm-token-deleting-01");
  cityhub::accounts::v1::DeleteMeRequest del;
  del.set_password(kPassword);
  cityhub::accounts::v1::DeleteMeResponse deleted;
  ASSERT_TRUE(accounts->DeleteMe(As(anna).get(), del, &deleted).ok());

  // The accounts service refuses the token's writes at once.
  cityhub::accounts::v1::UpdateMeRequest update;
  update.set_display_name("Zurück");
  cityhub::accounts::v1::Account account;
  const grpc::Status again = accounts->UpdateMe(As(anna).get(), update, &account);
  EXPECT_EQ(again.error_code(), grpc::StatusCode::UNAUTHENTICATED) << again.error_message();
  // Before this service hears of the deletion, a write still goes through ...
  RegisterDevice(anna, "fcm-token-deleting-02");
  // ... and is erased when it does: the consumer as the service runs it.
  infra::events::ConsumerOptions options;
  options.stream = infra::events::kAccountsStream;
  options.group = keys::kService;
  options.dead_letter_stream = keys::DeadEvents(options.stream);
  options.consumer = "test";
  infra::events::Consumer consumer(
      client(), options,
      [&](const infra::events::StreamEntry& e) { return fanout_->Handle(e.payload); }, metrics_,
      clock_);
  ASSERT_GE(consumer.RunOnce(), 1);

  const auto refused = [](const grpc::Status& s) {
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << s.error_message();
    EXPECT_THAT(s.error_message(), HasSubstr("deleted"));
  };
  nv1::RegisterDeviceRequest device;
  device.set_platform("android");
  device.set_push_token("fcm-token-deleting-03");
  nv1::Device d;
  refused(stub_->RegisterDevice(As(anna).get(), device, &d));
  nv1::UpdatePreferencesRequest prefs;
  prefs.mutable_preferences()->mutable_inbox()->set_own_requests(true);
  nv1::NotificationPreferences saved;
  refused(stub_->UpdatePreferences(As(anna).get(), prefs, &saved));
  nv1::MarkAllReadRequest mark;
  nv1::UnreadCount unread;
  refused(stub_->MarkAllRead(As(anna).get(), mark, &unread));
  // A write that passed the check just before the marker was set and reaches the store after
  // the erasure: the writing script refuses it too.
  StoredDevice late;
  late.set_id("late-device");
  late.set_token("fcm-token-deleting-04");
  EXPECT_EQ(store_->devices.AddDevice(anna, late).code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(store_->preferences.SetPreferences(anna, DefaultPreferences()).code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(client().Command({"KEYS", "*" + anna + "*"})->elements().empty());
  EXPECT_TRUE(client().Command({"KEYS", "*fcm-token-deleting*"})->elements().empty());
  // Reads still answer (with nothing).
  nv1::ListDevicesResponse devices;
  ASSERT_TRUE(stub_->ListDevices(As(anna).get(), {}, &devices).ok());
  EXPECT_EQ(devices.devices_size(), 0);
  // Someone else writes as before.
  RegisterDevice(Account("staying@example.de", "de", true), "fcm-token-staying-01");
}

}  // namespace
}  // namespace cityhub::notifications
