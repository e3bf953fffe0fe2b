// The accounts service over real gRPC against a real Redis.
#include "services/accounts/components.h"

#include <atomic>
#include <functional>
#include <thread>

#include <gmock/gmock.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "infra/grpc/server.h"
#include "infra/ids.h"
#include "services/accounts/keys.h"
#include "services/accounts/published_keys.h"
#include "tests/harness/redis_server.h"

namespace cityhub::accounts {
namespace {

namespace v1 = cityhub::accounts::v1;
using ::testing::HasSubstr;
using ::testing::Not;
using namespace std::chrono_literals;
using cityhub::testing::RedisTest;

constexpr char kInternal[] = "internal-secret-for-tests";
constexpr char kPassword[] = "Laterne-am-Jahnplatz-7";

// The service on a real gRPC server on a free port, with a clock the test moves.
class AccountsServiceTest : public RedisTest {
 protected:
  void SetUp() override {
    RedisTest::SetUp();
    clock_ = std::make_unique<infra::ManualClock>(infra::Clock::time_point(1'764'000'000s));
    Start(Argon2Params{});
  }

  // Builds the service's graph as main() does (with a new signing key) and serves it.
  void Start(Argon2Params argon2) {
    parts_.reset();
    AccountsConfig config;
    config.settings.internal_token = kInternal;
    config.argon2 = argon2;
    config.hash_wait = 30s;
    config.common.executor = {"accounts", 8, 64};
    config.common.server.drain_delay = 0ms;
    config.common.server.grace = 1s;
    parts_ = std::make_unique<infra::Components>();
    app_ = &BuildAccounts(*parts_, config, AccountsKeys{infra::auth::Ed25519Key::Generate(), {}},
                          AccountsEnv{client(), *clock_, metrics_});
    ASSERT_TRUE(app_->server.Start().ok());
    parts_->StartWorkers();
    stub_ = v1::AccountsService::NewStub(grpc::CreateChannel(
        "127.0.0.1:" + std::to_string(app_->server.port()), grpc::InsecureChannelCredentials()));
  }

  void TearDown() override { parts_.reset(); }

  // Publishes and accepts the signing key and `previous` (may be null), as main() does.
  void PublishWith(const infra::auth::Ed25519Key* previous) {
    PublishedKeys keys = PublishKeys(app_->signer.key(), previous);
    app_->jwks = keys.jwks;
    app_->verifier.SetKeys(std::move(keys.verify_keys));
  }

  // A context with an optional bearer token and, through the internal token, a client address.
  std::unique_ptr<grpc::ClientContext> Ctx(const std::string& access_token = "",
                                           const std::string& client_address = "") {
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->set_deadline(std::chrono::system_clock::now() + 30s);
    if (!access_token.empty()) ctx->AddMetadata("authorization", "Bearer " + access_token);
    if (!client_address.empty()) {
      ctx->AddMetadata("x-cityhub-internal", kInternal);
      ctx->AddMetadata("x-client-address", client_address);
    }
    return ctx;
  }

  grpc::Status Register(const std::string& email, v1::Account* out = nullptr,
                        const std::string& password = kPassword) {
    v1::RegisterRequest req;
    req.set_email(email);
    req.set_password(password);
    req.set_display_name("Anna Schmidt");
    req.set_language("de");
    v1::Account account;
    return stub_->Register(Ctx().get(), req, out != nullptr ? out : &account);
  }

  grpc::Status SignIn(const std::string& email, const std::string& password, v1::TokenPair* out,
                      const std::string& address = "") {
    v1::SignInRequest req;
    req.set_email(email);
    req.set_password(password);
    return stub_->SignIn(Ctx("", address).get(), req, out);
  }

  // The bootstrap admin signs in and creates a partner's API key named "FixMyStreet Bielefeld".
  v1::CreatedApiKey CreatePartnerKeyAsAdmin(v1::TokenPair* admin) {
    EXPECT_TRUE(app_->service.EnsureAdmin("admin@bielefeld.de", "Admin-Passwort-2026").ok());
    EXPECT_TRUE(SignIn("admin@bielefeld.de", "Admin-Passwort-2026", admin).ok());
    v1::CreateApiKeyRequest create;
    create.set_name("FixMyStreet Bielefeld");
    v1::CreatedApiKey created;
    EXPECT_TRUE(stub_->CreateApiKey(Ctx(admin->access_token()).get(), create, &created).ok());
    return created;
  }

  v1::TokenPair RegisterAndSignIn(const std::string& email, v1::Account* account = nullptr) {
    EXPECT_TRUE(Register(email, account).ok());
    v1::TokenPair pair;
    const grpc::Status s = SignIn(email, kPassword, &pair);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return pair;
  }

  grpc::Status Refresh(const std::string& refresh_token, v1::TokenPair* out) {
    v1::RefreshRequest req;
    req.set_refresh_token(refresh_token);
    return stub_->Refresh(Ctx().get(), req, out);
  }

  // Every event on the stream, in order.
  std::vector<cityhub::events::v1::Event> Events() {
    std::vector<cityhub::events::v1::Event> out;
    auto reply = client().Command({"XRANGE", kEventsStream, "-", "+"});
    EXPECT_TRUE(reply.ok());
    for (const auto& entry : reply->elements()) {
      const auto& fields = entry.elements()[1].elements();
      for (size_t i = 0; i + 1 < fields.size(); i += 2) {
        if (fields[i].str() == "event") out.emplace_back().ParseFromString(fields[i + 1].str());
      }
    }
    return out;
  }

  std::string LastVerificationToken() {
    std::string token;
    for (const auto& e : Events()) {
      if (e.has_verification_requested()) token = e.verification_requested().token();
    }
    return token;
  }

  // How many events on the stream `has` picks out.
  int CountEvents(bool (cityhub::events::v1::Event::*has)() const) {
    int n = 0;
    for (const auto& e : Events()) n += (e.*has)() ? 1 : 0;
    return n;
  }

  // Makes every XADD to the event stream fail (WRONGTYPE) until RepairEvents().
  void BreakEvents() {
    if (client().Command({"EXISTS", kEventsStream})->integer() == 1) {
      ASSERT_TRUE(client().Command({"RENAME", kEventsStream, "test:events-aside"}).ok());
    }
    ASSERT_TRUE(client().Command({"SET", kEventsStream, "not a stream"}).ok());
  }
  void RepairEvents() {
    ASSERT_TRUE(client().Command({"DEL", kEventsStream}).ok());
    if (client().Command({"EXISTS", "test:events-aside"})->integer() == 1) {
      ASSERT_TRUE(client().Command({"RENAME", "test:events-aside", kEventsStream}).ok());
    }
  }

  // Every key and every value in Redis, as one text.
  std::string DumpRedis() {
    std::string out;
    auto keys = client().Command({"KEYS", "*"});
    EXPECT_TRUE(keys.ok());
    for (const auto& k : keys->elements()) {
      const std::string& key = k.str();
      out += key + "\n";
      const std::string type = client().Command({"TYPE", key})->str();
      infra::redis::Args read;
      if (type == "string") read = {"GET", key};
      if (type == "hash") read = {"HGETALL", key};
      if (type == "set") read = {"SMEMBERS", key};
      if (type == "zset") read = {"ZRANGE", key, "0", "-1", "WITHSCORES"};
      if (type == "list") read = {"LRANGE", key, "0", "-1"};
      if (type == "stream") read = {"XRANGE", key, "-", "+"};
      EXPECT_FALSE(read.empty()) << key << " has type " << type;
      if (read.empty()) continue;
      auto reply = client().Command(read);
      EXPECT_TRUE(reply.ok());
      std::function<void(const infra::redis::Reply&)> append = [&](const infra::redis::Reply& r) {
        out += r.str() + "\n";
        for (const auto& e : r.elements()) append(e);
      };
      append(*reply);
    }
    return out;
  }

  grpc::Status RequestReset(const std::string& email) {
    v1::RequestPasswordResetRequest req;
    req.set_email(email);
    v1::RequestPasswordResetResponse res;
    return stub_->RequestPasswordReset(Ctx().get(), req, &res);
  }

  grpc::Status ConfirmReset(const std::string& token, const std::string& password) {
    v1::ConfirmPasswordResetRequest req;
    req.set_token(token);
    req.set_new_password(password);
    v1::ConfirmPasswordResetResponse res;
    return stub_->ConfirmPasswordReset(Ctx().get(), req, &res);
  }

  grpc::Status VerifyEmail(const std::string& token) {
    v1::VerifyEmailRequest req;
    req.set_token(token);
    v1::VerifyEmailResponse res;
    return stub_->VerifyEmail(Ctx().get(), req, &res);
  }

  std::string LastResetToken() {
    std::string token;
    for (const auto& e : Events()) {
      if (e.has_password_reset_requested()) token = e.password_reset_requested().token();
    }
    return token;
  }

  std::unique_ptr<infra::ManualClock> clock_;
  infra::MetricsRegistry metrics_;
  std::unique_ptr<infra::Components> parts_;
  Accounts* app_ = nullptr;
  std::unique_ptr<v1::AccountsService::Stub> stub_;
};

// --- registration ---------------------------------------------------------------------------

TEST_F(AccountsServiceTest, RegisterCreatesAnUnverifiedCitizenAndPublishesEvents) {
  v1::Account account;
  ASSERT_TRUE(Register("  Anna.Schmidt@Example.DE ", &account).ok());
  EXPECT_TRUE(infra::IsUlid(account.account_id()));
  EXPECT_EQ(account.email(), "Anna.Schmidt@example.de");
  EXPECT_FALSE(account.email_verified());
  EXPECT_THAT(account.roles(), ::testing::ElementsAre("citizen"));
  const auto events = Events();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].account_registered().account_id(), account.account_id());
  EXPECT_EQ(events[1].verification_requested().account_id(), account.account_id());
  EXPECT_EQ(events[1].verification_requested().token().size(), 43u);  // 256 random bits
  // Only a hash of the token is stored.
  auto keys = client().Command({"KEYS", keys::VerifyToken("*")});
  ASSERT_EQ(keys->elements().size(), 1u);
  EXPECT_THAT(keys->elements()[0].str(),
              Not(HasSubstr(events[1].verification_requested().token())));
}

TEST_F(AccountsServiceTest, OneAccountPerEmailWhateverItsCase) {
  ASSERT_TRUE(Register("anna@example.de").ok());
  const grpc::Status again = Register("ANNA@Example.de");
  EXPECT_EQ(again.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_THAT(again.error_message(), HasSubstr("email"));
}

TEST_F(AccountsServiceTest, FiftyConcurrentRegistrationsOfOneEmailLetExactlyOneSucceed) {
  std::atomic<int> created{0};
  std::atomic<int> exists{0};
  std::atomic<int> other{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 50; ++i) {
    threads.emplace_back([&] {
      const grpc::Status s = Register("race@example.de");
      if (s.ok()) {
        ++created;
      } else if (s.error_code() == grpc::StatusCode::ALREADY_EXISTS) {
        ++exists;
      } else {
        ++other;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(created.load(), 1);
  EXPECT_EQ(exists.load(), 49);
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(client().Command({"KEYS", keys::Account("*")})->elements().size(), 1u);
}

TEST_F(AccountsServiceTest, BadInputIsRefusedNamingTheField) {
  struct Case {
    std::string email, password, name, language, field;
  };
  const std::vector<Case> cases = {
      {"", kPassword, "Anna", "de", "email"},
      {"not-an-email", kPassword, "Anna", "de", "email"},
      {std::string(250, 'a') + "@example.de", kPassword, "Anna", "de", "email"},
      {"a@example.de", "", "Anna", "de", "password"},
      {"a@example.de", "short", "Anna", "de", "password"},
      {"a@example.de", std::string(129, 'x') + "y", "Anna", "de", "password"},
      {"a@example.de", "passwort123", "Anna", "de", "password"},
      {"a@example.de", kPassword, "", "de", "display_name"},
      {"a@example.de", kPassword, std::string(81, 'n'), "de", "display_name"},
      {"a@example.de", kPassword, "Anna", "fr", "language"},
  };
  for (const Case& c : cases) {
    v1::RegisterRequest req;
    req.set_email(c.email);
    req.set_password(c.password);
    req.set_display_name(c.name);
    req.set_language(c.language);
    v1::Account account;
    const grpc::Status s = stub_->Register(Ctx().get(), req, &account);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.field;
    EXPECT_THAT(s.error_message(), ::testing::StartsWith(c.field + ":"));
  }
}

TEST_F(AccountsServiceTest, RegisterWithRedisDownAnswersUnavailableBeforeHashing) {
  redis().Kill();
  const uint64_t before = app_->hasher.computations();
  EXPECT_EQ(Register("down@example.de").error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(app_->hasher.computations(), before);  // no Argon2id spent on a request that must fail
  redis().Start();
  EXPECT_TRUE(cityhub::testing::WaitFor([&] { return Register("down@example.de").ok(); }, 10s));
}

TEST_F(AccountsServiceTest, WhenTheEventCannotBeWrittenNothingElseChanges) {
  // Registration: the address stays free.
  BreakEvents();
  EXPECT_FALSE(Register("outage@example.de").ok());
  RepairEvents();
  v1::Account account;
  ASSERT_TRUE(Register("outage@example.de", &account).ok());
  v1::TokenPair pair;
  ASSERT_TRUE(SignIn("outage@example.de", kPassword, &pair).ok());

  // A resend: neither the rate limit nor the mail's link is spent.
  const std::string first_token = LastVerificationToken();
  const auto verify_keys = [&] {
    auto keys = client().Command({"KEYS", keys::VerifyToken("*")});
    std::vector<std::string> out;
    for (const auto& k : keys->elements()) out.push_back(k.str());
    return out;
  };
  const std::vector<std::string> before = verify_keys();
  ASSERT_EQ(before.size(), 1u);  // the first mail's token, stored hashed
  clock_->Advance(61s);
  v1::ResendVerificationRequest resend;
  v1::ResendVerificationResponse resent;
  BreakEvents();
  EXPECT_FALSE(stub_->ResendVerification(Ctx(pair.access_token()).get(), resend, &resent).ok());
  RepairEvents();
  EXPECT_EQ(verify_keys(), before);  // the first link still works
  ASSERT_TRUE(stub_->ResendVerification(Ctx(pair.access_token()).get(), resend, &resent).ok());
  EXPECT_NE(LastVerificationToken(), first_token);

  // Deletion: the account stays, since the other services would never hear of it.
  v1::DeleteMeRequest del;
  del.set_password(kPassword);
  v1::DeleteMeResponse deleted;
  BreakEvents();
  EXPECT_FALSE(stub_->DeleteMe(Ctx(pair.access_token()).get(), del, &deleted).ok());
  RepairEvents();
  v1::Account me;
  EXPECT_TRUE(stub_->GetMe(Ctx(pair.access_token()).get(), {}, &me).ok());
  ASSERT_TRUE(stub_->DeleteMe(Ctx(pair.access_token()).get(), del, &deleted).ok());
  EXPECT_EQ(CountEvents(&cityhub::events::v1::Event::has_account_deleted), 1);
}

// --- e-mail verification --------------------------------------------------------------------

TEST_F(AccountsServiceTest, VerificationTokenVerifiesOnceAndExpiresAfterAnHour) {
  v1::Account account;
  ASSERT_TRUE(Register("verify@example.de", &account).ok());
  const std::string token = LastVerificationToken();
  v1::VerifyEmailRequest req;
  req.set_token(token);
  v1::VerifyEmailResponse res;
  ASSERT_TRUE(stub_->VerifyEmail(Ctx().get(), req, &res).ok());
  EXPECT_EQ(res.account_id(), account.account_id());
  // Whoever keeps the contact (the notifications service) is told to read it again.
  EXPECT_TRUE(Events().back().has_contact_changed());
  EXPECT_EQ(Events().back().contact_changed().account_id(), account.account_id());
  EXPECT_EQ(stub_->VerifyEmail(Ctx().get(), req, &res).error_code(), grpc::StatusCode::NOT_FOUND);

  ASSERT_TRUE(Register("late@example.de").ok());
  req.set_token(LastVerificationToken());
  clock_->Advance(61min);
  EXPECT_EQ(stub_->VerifyEmail(Ctx().get(), req, &res).error_code(), grpc::StatusCode::NOT_FOUND);
  req.set_token("");
  EXPECT_EQ(stub_->VerifyEmail(Ctx().get(), req, &res).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(AccountsServiceTest, VerifyingTheEmailAndItsContactChangedEventAreOneTransaction) {
  v1::Account account;
  ASSERT_TRUE(Register("outbox@example.de", &account).ok());
  const std::string token = LastVerificationToken();
  // The event cannot be written: nothing else may change either, so the link still works.
  BreakEvents();
  EXPECT_FALSE(VerifyEmail(token).ok());
  RepairEvents();
  EXPECT_FALSE(app_->accounts.Get(account.account_id())->verified);
  EXPECT_EQ(CountEvents(&cityhub::events::v1::Event::has_contact_changed), 0);

  ASSERT_TRUE(VerifyEmail(token).ok());
  EXPECT_TRUE(app_->accounts.Get(account.account_id())->verified);
  EXPECT_EQ(CountEvents(&cityhub::events::v1::Event::has_contact_changed), 1);
  EXPECT_EQ(Events().back().contact_changed().account_id(), account.account_id());
}

TEST_F(AccountsServiceTest, ResendingTheVerificationMailStopsAtTheDailyCap) {
  v1::TokenPair pair = RegisterAndSignIn("daily@example.de");
  v1::ResendVerificationRequest req;
  v1::ResendVerificationResponse res;
  // Registration sent the first of the day's five mails.
  for (int i = 1; i < AccountsSettings{}.verify_limits.max_per_day; ++i) {
    clock_->Advance(61s);
    ASSERT_TRUE(stub_->ResendVerification(Ctx(pair.access_token()).get(), req, &res).ok()) << i;
  }
  clock_->Advance(61s);
  const grpc::Status capped = stub_->ResendVerification(Ctx(pair.access_token()).get(), req, &res);
  EXPECT_EQ(capped.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(capped.error_message(), HasSubstr("daily limit"));
  EXPECT_EQ(CountEvents(&cityhub::events::v1::Event::has_verification_requested), 5);
  clock_->Advance(24h);
  ASSERT_TRUE(Refresh(pair.refresh_token(), &pair).ok());  // the access token expired meanwhile
  EXPECT_TRUE(stub_->ResendVerification(Ctx(pair.access_token()).get(), req, &res).ok());
  EXPECT_EQ(CountEvents(&cityhub::events::v1::Event::has_verification_requested), 6);
}

TEST_F(AccountsServiceTest, SignedInUnverifiedAccountsSayIsoInTheirToken) {
  v1::TokenPair pair = RegisterAndSignIn("unverified@example.de");
  EXPECT_FALSE(app_->verifier.Verify(pair.access_token())->email_verified);
  v1::VerifyEmailRequest req;
  req.set_token(LastVerificationToken());
  v1::VerifyEmailResponse res;
  ASSERT_TRUE(stub_->VerifyEmail(Ctx().get(), req, &res).ok());
  v1::TokenPair next;
  ASSERT_TRUE(Refresh(pair.refresh_token(), &next).ok());
  EXPECT_TRUE(app_->verifier.Verify(next.access_token())->email_verified);
}

TEST_F(AccountsServiceTest, ResendingTheVerificationMailIsRateLimitedAndReplacesTheToken) {
  v1::TokenPair pair = RegisterAndSignIn("resend@example.de");
  const std::string first = LastVerificationToken();
  v1::ResendVerificationRequest req;
  v1::ResendVerificationResponse res;
  const grpc::Status too_soon =
      stub_->ResendVerification(Ctx(pair.access_token()).get(), req, &res);
  EXPECT_EQ(too_soon.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  clock_->Advance(61s);
  ASSERT_TRUE(stub_->ResendVerification(Ctx(pair.access_token()).get(), req, &res).ok());
  const std::string second = LastVerificationToken();
  EXPECT_NE(first, second);
  v1::VerifyEmailRequest verify;
  v1::VerifyEmailResponse verified;
  verify.set_token(first);
  EXPECT_EQ(stub_->VerifyEmail(Ctx().get(), verify, &verified).error_code(),
            grpc::StatusCode::NOT_FOUND);
  verify.set_token(second);
  EXPECT_TRUE(stub_->VerifyEmail(Ctx().get(), verify, &verified).ok());
  EXPECT_EQ(stub_->ResendVerification(Ctx(pair.access_token()).get(), req, &res).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
}

// --- sign-in, throttling --------------------------------------------------------------------

TEST_F(AccountsServiceTest, SignInIssuesVerifiableTokens) {
  v1::Account account;
  const v1::TokenPair pair = RegisterAndSignIn("signin@example.de", &account);
  EXPECT_EQ(pair.token_type(), "Bearer");
  EXPECT_EQ(pair.expires_in(), 600);
  auto claims = app_->verifier.Verify(pair.access_token());
  ASSERT_TRUE(claims.ok()) << claims.status();
  EXPECT_EQ(claims->subject, account.account_id());
  EXPECT_THAT(claims->roles, ::testing::ElementsAre("citizen"));
  EXPECT_FALSE(claims->session_id.empty());
  EXPECT_EQ(pair.refresh_token().size(), 26u + 1 + 43);
}

TEST_F(AccountsServiceTest, UnknownEmailAndWrongPasswordGetTheSameAnswer) {
  ASSERT_TRUE(Register("known@example.de").ok());
  v1::TokenPair pair;
  const uint64_t start = app_->hasher.computations();
  const grpc::Status wrong = SignIn("known@example.de", "Wrong-password-1", &pair);
  const uint64_t after_wrong = app_->hasher.computations();
  const grpc::Status unknown = SignIn("nobody@example.de", "Wrong-password-1", &pair);
  EXPECT_EQ(wrong.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(wrong.error_code(), unknown.error_code());
  EXPECT_EQ(wrong.error_message(), unknown.error_message());
  // And the same work: an unknown e-mail costs one Argon2id verification too (against a dummy
  // hash), so the answer time does not tell whether the account exists.
  EXPECT_EQ(after_wrong - start, 1u);
  EXPECT_EQ(app_->hasher.computations() - after_wrong, 1u);
}

TEST_F(AccountsServiceTest, FailedSignInsBackOffPerAddressWithoutLockingOutOtherAddresses) {
  ASSERT_TRUE(Register("target@example.de").ok());
  v1::TokenPair pair;
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(SignIn("target@example.de", "Wrong-password-1", &pair, "203.0.113.9").error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
  }
  // The sixth attempt from the guesser's address waits, even with the right password.
  EXPECT_EQ(SignIn("target@example.de", "Wrong-password-1", &pair, "203.0.113.9").error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  const grpc::Status locked = SignIn("target@example.de", kPassword, &pair, "203.0.113.9");
  EXPECT_EQ(locked.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(locked.error_message(), HasSubstr("try again in"));
  // The resident at home is not affected.
  EXPECT_TRUE(SignIn("target@example.de", kPassword, &pair, "198.51.100.4").ok());
  // Backoff grows with further failures and ends with time.
  clock_->Advance(2s);
  EXPECT_EQ(SignIn("target@example.de", "Wrong-password-1", &pair, "203.0.113.9").error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(SignIn("target@example.de", kPassword, &pair, "203.0.113.9").error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);
  clock_->Advance(5s);
  EXPECT_TRUE(SignIn("target@example.de", kPassword, &pair, "203.0.113.9").ok());
}

TEST_F(AccountsServiceTest, ADistributedGuesserCannotLockTheResidentOutOfKnownAddresses) {
  ASSERT_TRUE(Register("popular@example.de").ok());
  v1::TokenPair pair;
  ASSERT_TRUE(SignIn("popular@example.de", kPassword, &pair, "198.51.100.4").ok());  // home
  for (int i = 0; i < 22; ++i) {
    (void)SignIn("popular@example.de", "Wrong-password-1", &pair,
                 "203.0.113." + std::to_string(i + 10));
  }
  // A new address now has to wait (the per-account budget is spent)...
  EXPECT_EQ(SignIn("popular@example.de", kPassword, &pair, "192.0.2.77").error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);
  // ...but the resident's usual address is not locked, and the lock is short.
  EXPECT_TRUE(SignIn("popular@example.de", kPassword, &pair, "198.51.100.4").ok());
  clock_->Advance(5min);
  EXPECT_TRUE(SignIn("popular@example.de", kPassword, &pair, "192.0.2.77").ok());
}

TEST_F(AccountsServiceTest, ConcurrentWrongSignInsAreThrottledLikeSequentialOnes) {
  ASSERT_TRUE(Register("parallel@example.de").ok());
  // Sequentially, the pair counter lets free_failures + 1 guesses through before it waits.
  const int allowed = ThrottlePolicy{}.pair.free_failures + 1;
  std::atomic<int> evaluated{0};
  std::atomic<int> throttled{0};
  std::atomic<int> other{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 20; ++i) {
    threads.emplace_back([&] {
      v1::TokenPair pair;
      const grpc::Status s =
          SignIn("parallel@example.de", "Wrong-password-1", &pair, "203.0.113.20");
      if (s.error_code() == grpc::StatusCode::UNAUTHENTICATED) {
        ++evaluated;
      } else if (s.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) {
        ++throttled;
      } else {
        ++other;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(evaluated.load(), allowed);
  EXPECT_EQ(throttled.load(), 20 - allowed);
  EXPECT_EQ(other.load(), 0);
  // The resident elsewhere is not affected.
  v1::TokenPair pair;
  EXPECT_TRUE(SignIn("parallel@example.de", kPassword, &pair, "198.51.100.4").ok());
}

TEST_F(AccountsServiceTest, ConcurrentWrongPasswordConfirmationsAreThrottledToo) {
  const v1::TokenPair pair = RegisterAndSignIn("confirm@example.de");
  const int allowed = ThrottlePolicy{}.pair.free_failures + 1;
  std::atomic<int> evaluated{0};
  std::atomic<int> throttled{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 20; ++i) {
    threads.emplace_back([&] {
      v1::DeleteMeRequest req;
      req.set_password("Wrong-password-1");
      v1::DeleteMeResponse res;
      const grpc::Status s = stub_->DeleteMe(Ctx(pair.access_token()).get(), req, &res);
      if (s.error_code() == grpc::StatusCode::INVALID_ARGUMENT) ++evaluated;
      if (s.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) ++throttled;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(evaluated.load(), allowed);
  EXPECT_EQ(throttled.load(), 20 - allowed);
}

TEST_F(AccountsServiceTest, OneAddressGuessingManyEmailsIsThrottledByTheAddressCounter) {
  ASSERT_TRUE(Register("victim@example.de").ok());
  v1::TokenPair pair;
  const int free_failures = ThrottlePolicy{}.address.free_failures;
  // A different e-mail every time: the per-pair counters never come into play.
  for (int i = 0; i <= free_failures; ++i) {
    EXPECT_EQ(SignIn("guess" + std::to_string(i) + "@example.de", "Wrong-password-1", &pair,
                     "203.0.113.66")
                  .error_code(),
              grpc::StatusCode::UNAUTHENTICATED)
        << i;
  }
  // Now that address waits whatever e-mail it tries, even with the right password.
  EXPECT_EQ(SignIn("victim@example.de", kPassword, &pair, "203.0.113.66").error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(SignIn("fresh@example.de", "Wrong-password-1", &pair, "203.0.113.66").error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_TRUE(SignIn("victim@example.de", kPassword, &pair, "198.51.100.4").ok());
  clock_->Advance(1s);  // the first backoff step
  EXPECT_TRUE(SignIn("victim@example.de", kPassword, &pair, "203.0.113.66").ok());
  // A success does not wipe the address's record: the next failure waits longer.
  EXPECT_EQ(
      SignIn("guess-again@example.de", "Wrong-password-1", &pair, "203.0.113.66").error_code(),
      grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(SignIn("victim@example.de", kPassword, &pair, "203.0.113.66").error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);
  clock_->Advance(2s);
  EXPECT_TRUE(SignIn("victim@example.de", kPassword, &pair, "203.0.113.66").ok());
}

TEST_F(AccountsServiceTest, SignInRefusesPasswordsLongerThanTheLimitItNames) {
  ASSERT_TRUE(Register("long@example.de").ok());
  v1::TokenPair pair;
  const grpc::Status too_long = SignIn("long@example.de", std::string(129, 'x'), &pair);
  EXPECT_EQ(too_long.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(too_long.error_message(), "password: longer than 128 characters");
  // 128 characters of two bytes each are within the limit, just wrong.
  std::string umlauts;
  for (int i = 0; i < 128; ++i) umlauts += "\xc3\xa4";
  EXPECT_EQ(SignIn("long@example.de", umlauts, &pair).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(AccountsServiceTest, KnownAddressesAreKeptAsHashesWithTheirLastSignIn) {
  v1::Account account;
  ASSERT_TRUE(Register("addresses@example.de", &account).ok());
  v1::TokenPair pair;
  ASSERT_TRUE(SignIn("addresses@example.de", kPassword, &pair, "198.51.100.4").ok());
  clock_->Advance(1min);
  ASSERT_TRUE(SignIn("addresses@example.de", kPassword, &pair, "203.0.113.5").ok());
  EXPECT_EQ(SignIn("addresses@example.de", "Wrong-password-1", &pair, "192.0.2.1").error_code(),
            grpc::StatusCode::UNAUTHENTICATED);  // a failure makes no address known
  auto known = app_->throttle.KnownAddresses(account.account_id());
  ASSERT_TRUE(known.ok()) << known.status();
  ASSERT_EQ(known->size(), 2u);
  EXPECT_EQ((*known)[0].address_hash, infra::HexEncode(infra::Sha256("203.0.113.5")));
  EXPECT_EQ((*known)[0].last_success_ms, infra::UnixMillis(clock_->Now()));
  EXPECT_EQ((*known)[1].address_hash, infra::HexEncode(infra::Sha256("198.51.100.4")));
  EXPECT_EQ((*known)[1].last_success_ms, infra::UnixMillis(clock_->Now() - 1min));
}

TEST_F(AccountsServiceTest, SignInUpgradesHashesMadeWithWeakerParameters) {
  v1::Account account;
  ASSERT_TRUE(Register("upgrade@example.de", &account).ok());
  Start({Argon2Params::kMinMemoryKib, 3});
  v1::TokenPair pair;
  ASSERT_TRUE(SignIn("upgrade@example.de", kPassword, &pair).ok());
  EXPECT_THAT(app_->accounts.Get(account.account_id())->password_hash, HasSubstr("t=3"));
  EXPECT_TRUE(SignIn("upgrade@example.de", kPassword, &pair).ok());
}

// --- refresh tokens -------------------------------------------------------------------------

TEST_F(AccountsServiceTest, RefreshRotatesAndReuseRevokesTheFamily) {
  const v1::TokenPair first = RegisterAndSignIn("rotate@example.de");
  v1::TokenPair second;
  const grpc::Status refreshed = Refresh(first.refresh_token(), &second);
  ASSERT_TRUE(refreshed.ok()) << refreshed.error_message();
  EXPECT_NE(second.refresh_token(), first.refresh_token());
  EXPECT_EQ(app_->verifier.Verify(second.access_token())->session_id,
            app_->verifier.Verify(first.access_token())->session_id);
  v1::TokenPair third;
  ASSERT_TRUE(Refresh(second.refresh_token(), &third).ok());
  // Someone replays the spent first token: the whole family dies, including the newest token.
  v1::TokenPair stolen;
  const grpc::Status reuse = Refresh(first.refresh_token(), &stolen);
  EXPECT_EQ(reuse.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(reuse.error_message(), HasSubstr("already used"));
  EXPECT_EQ(Refresh(third.refresh_token(), &stolen).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(AccountsServiceTest, RefreshTokensAreStoredOnlyAsHashes) {
  const v1::TokenPair first = RegisterAndSignIn("hashed@example.de");
  v1::TokenPair second;
  ASSERT_TRUE(Refresh(first.refresh_token(), &second).ok());
  const std::string everything = DumpRedis();
  for (const v1::TokenPair* pair : {&first, static_cast<const v1::TokenPair*>(&second)}) {
    const std::string secret = pair->refresh_token().substr(27);
    EXPECT_THAT(everything, Not(HasSubstr(secret)));
    EXPECT_THAT(everything, HasSubstr(infra::HexEncode(infra::Sha256(secret))));
    EXPECT_THAT(everything, Not(HasSubstr(pair->access_token())));
  }
}

TEST_F(AccountsServiceTest, RefreshTokensExpireWhenIdleAndAtTheirAbsoluteEnd) {
  v1::TokenPair pair = RegisterAndSignIn("expire@example.de");
  clock_->Advance(std::chrono::hours(24 * 29));
  v1::TokenPair next;
  ASSERT_TRUE(Refresh(pair.refresh_token(), &next).ok());  // used within 30 days: still live
  clock_->Advance(std::chrono::hours(24 * 31));
  EXPECT_EQ(Refresh(next.refresh_token(), &pair).error_code(), grpc::StatusCode::UNAUTHENTICATED);

  v1::TokenPair busy;
  ASSERT_TRUE(SignIn("expire@example.de", kPassword, &busy).ok());
  for (int i = 0; i < 6; ++i) {  // used every 29 days: idle never, but absolute after 180
    clock_->Advance(std::chrono::hours(24 * 29));
    ASSERT_TRUE(Refresh(busy.refresh_token(), &busy).ok()) << i;
  }
  clock_->Advance(std::chrono::hours(24 * 29));
  EXPECT_EQ(Refresh(busy.refresh_token(), &busy).error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(AccountsServiceTest, MalformedRefreshTokensAreRefused) {
  v1::TokenPair out;
  for (const std::string& bad :
       {std::string("x"), std::string(70, 'a'), std::string(100'000, 'a')}) {
    EXPECT_EQ(Refresh(bad, &out).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  }
  EXPECT_EQ(Refresh("", &out).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(AccountsServiceTest, SignOutEndsOneSessionAndSignOutEverywhereEndsAll) {
  const v1::TokenPair a = RegisterAndSignIn("out@example.de");
  v1::TokenPair b, c;
  ASSERT_TRUE(SignIn("out@example.de", kPassword, &b).ok());
  ASSERT_TRUE(SignIn("out@example.de", kPassword, &c).ok());
  v1::SignOutRequest out;
  out.set_refresh_token(a.refresh_token());
  v1::SignOutResponse done;
  ASSERT_TRUE(stub_->SignOut(Ctx(a.access_token()).get(), out, &done).ok());
  v1::TokenPair next;
  EXPECT_EQ(Refresh(a.refresh_token(), &next).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  ASSERT_TRUE(Refresh(b.refresh_token(), &b).ok());
  // Someone else's refresh token cannot be signed out.
  const v1::TokenPair other = RegisterAndSignIn("other@example.de");
  out.set_refresh_token(other.refresh_token());
  EXPECT_EQ(stub_->SignOut(Ctx(a.access_token()).get(), out, &done).error_code(),
            grpc::StatusCode::NOT_FOUND);
  ASSERT_TRUE(stub_->SignOutEverywhere(Ctx(c.access_token()).get(), {}, &done).ok());
  EXPECT_EQ(Refresh(b.refresh_token(), &next).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(Refresh(c.refresh_token(), &next).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_TRUE(Refresh(other.refresh_token(), &next).ok());
}

// --- passwords ------------------------------------------------------------------------------

TEST_F(AccountsServiceTest, ChangingThePasswordNeedsTheCurrentOneAndEndsOtherSessions) {
  const v1::TokenPair mine = RegisterAndSignIn("change@example.de");
  v1::TokenPair other;
  ASSERT_TRUE(SignIn("change@example.de", kPassword, &other).ok());
  v1::ChangePasswordRequest req;
  v1::ChangePasswordResponse res;
  req.set_current_password("Not-the-password-1");
  req.set_new_password("Neues-Passwort-fuer-2027");
  const grpc::Status wrong = stub_->ChangePassword(Ctx(mine.access_token()).get(), req, &res);
  EXPECT_EQ(wrong.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(wrong.error_message(), HasSubstr("current_password"));
  req.set_current_password(kPassword);
  ASSERT_TRUE(stub_->ChangePassword(Ctx(mine.access_token()).get(), req, &res).ok());
  v1::TokenPair next;
  EXPECT_EQ(Refresh(other.refresh_token(), &next).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_TRUE(Refresh(mine.refresh_token(), &next).ok());
  EXPECT_EQ(SignIn("change@example.de", kPassword, &next).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_TRUE(SignIn("change@example.de", "Neues-Passwort-fuer-2027", &next).ok());
  // The wrong current password is in the audit trail, like a failed sign-in.
  const auto audit = app_->accounts.Audit(app_->verifier.Verify(mine.access_token())->subject);
  ASSERT_TRUE(audit.ok()) << audit.status();
  std::vector<std::string> kinds;
  for (const auto& entry : audit.value()) kinds.push_back(nlohmann::json::parse(entry)["kind"]);
  EXPECT_THAT(kinds, ::testing::Contains("password_confirmation_failed"));
  EXPECT_THAT(kinds, ::testing::Contains("password_changed"));
}

TEST_F(AccountsServiceTest, PasswordResetIsSingleUseExpiresAndEndsAllSessions) {
  const v1::TokenPair session = RegisterAndSignIn("reset@example.de");
  v1::RequestPasswordResetRequest ask;
  v1::RequestPasswordResetResponse asked;
  ask.set_email("nobody@example.de");
  ASSERT_TRUE(stub_->RequestPasswordReset(Ctx().get(), ask, &asked).ok());
  EXPECT_EQ(LastResetToken(), "");  // no mail for unknown addresses
  ask.set_email("RESET@example.de");
  ASSERT_TRUE(stub_->RequestPasswordReset(Ctx().get(), ask, &asked).ok());
  const std::string token = LastResetToken();
  ASSERT_FALSE(token.empty());

  v1::ConfirmPasswordResetRequest confirm;
  v1::ConfirmPasswordResetResponse confirmed;
  confirm.set_token(token);
  confirm.set_new_password("short");
  EXPECT_EQ(stub_->ConfirmPasswordReset(Ctx().get(), confirm, &confirmed).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);  // and the token survives a bad password
  confirm.set_new_password("Zuruecksetzen-ist-gut-9");
  ASSERT_TRUE(stub_->ConfirmPasswordReset(Ctx().get(), confirm, &confirmed).ok());
  EXPECT_EQ(stub_->ConfirmPasswordReset(Ctx().get(), confirm, &confirmed).error_code(),
            grpc::StatusCode::NOT_FOUND);
  v1::TokenPair next;
  EXPECT_EQ(Refresh(session.refresh_token(), &next).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_TRUE(SignIn("reset@example.de", "Zuruecksetzen-ist-gut-9", &next).ok());

  clock_->Advance(61s);
  ASSERT_TRUE(stub_->RequestPasswordReset(Ctx().get(), ask, &asked).ok());
  confirm.set_token(LastResetToken());
  clock_->Advance(61min);
  EXPECT_EQ(stub_->ConfirmPasswordReset(Ctx().get(), confirm, &confirmed).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(AccountsServiceTest, ARejectedNewPasswordDoesNotSpendTheResetToken) {
  ASSERT_TRUE(Register("resetter@example.de").ok());
  ASSERT_TRUE(RequestReset("resetter@example.de").ok());
  const std::string token = LastResetToken();
  for (const std::string& personal :
       {std::string("Anna Schmidt"), std::string("resetter"), std::string("Resetter@Example.de")}) {
    const grpc::Status refused = ConfirmReset(token, personal);
    EXPECT_EQ(refused.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << personal;
    EXPECT_THAT(refused.error_message(), ::testing::StartsWith("new_password:"));
  }
  ASSERT_TRUE(ConfirmReset(token, "Zuruecksetzen-ist-gut-9").ok());
  v1::TokenPair pair;
  EXPECT_TRUE(SignIn("resetter@example.de", "Zuruecksetzen-ist-gut-9", &pair).ok());
}

TEST_F(AccountsServiceTest, PasswordResetIsOneTransactionWithSessionsAndEvents) {
  v1::Account account;
  v1::TokenPair session = RegisterAndSignIn("reset-tx@example.de", &account);
  ASSERT_TRUE(RequestReset("reset-tx@example.de").ok());
  const std::string token = LastResetToken();
  // The event cannot be written: password, verification, sessions and token stay as they were.
  BreakEvents();
  EXPECT_FALSE(ConfirmReset(token, "Zuruecksetzen-ist-gut-9").ok());
  RepairEvents();
  EXPECT_FALSE(app_->accounts.Get(account.account_id())->verified);
  ASSERT_TRUE(Refresh(session.refresh_token(), &session).ok());
  v1::TokenPair other;
  EXPECT_TRUE(SignIn("reset-tx@example.de", kPassword, &other).ok());

  ASSERT_TRUE(ConfirmReset(token, "Zuruecksetzen-ist-gut-9").ok());
  // Following the mail verified the address: the contact's keeper hears of it, once.
  EXPECT_TRUE(app_->accounts.Get(account.account_id())->verified);
  EXPECT_EQ(CountEvents(&cityhub::events::v1::Event::has_contact_changed), 1);
  EXPECT_EQ(Events().back().contact_changed().account_id(), account.account_id());
  v1::TokenPair next;
  EXPECT_EQ(Refresh(session.refresh_token(), &next).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(Refresh(other.refresh_token(), &next).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(SignIn("reset-tx@example.de", kPassword, &next).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_TRUE(SignIn("reset-tx@example.de", "Zuruecksetzen-ist-gut-9", &next).ok());
}

// --- profile, roles -------------------------------------------------------------------------

TEST_F(AccountsServiceTest, ProfileCanBeReadAndPartlyUpdated) {
  const v1::TokenPair pair = RegisterAndSignIn("profile@example.de");
  v1::UpdateMeRequest update;
  update.set_phone("+49 521 51 0");
  v1::Account account;
  ASSERT_TRUE(stub_->UpdateMe(Ctx(pair.access_token()).get(), update, &account).ok());
  EXPECT_EQ(account.phone(), "+49 521 51 0");
  EXPECT_EQ(account.display_name(), "Anna Schmidt");  // untouched
  update.Clear();
  update.set_language("xx");
  const grpc::Status bad = stub_->UpdateMe(Ctx(pair.access_token()).get(), update, &account);
  EXPECT_EQ(bad.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(bad.error_message(), ::testing::StartsWith("language:"));
  update.Clear();
  update.set_language("en");
  update.set_display_name("Anna S.");
  ASSERT_TRUE(stub_->UpdateMe(Ctx(pair.access_token()).get(), update, &account).ok());
  ASSERT_TRUE(stub_->GetMe(Ctx(pair.access_token()).get(), {}, &account).ok());
  EXPECT_EQ(account.language(), "en");
  EXPECT_EQ(account.display_name(), "Anna S.");
  EXPECT_EQ(stub_->GetMe(Ctx().get(), {}, &account).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(AccountsServiceTest, OnlyAdminsChangeRolesAndTheTokenCarriesThemAfterRefresh) {
  v1::Account admin_account, anna;
  ASSERT_TRUE(app_->service.EnsureAdmin("admin@bielefeld.de", "Admin-Passwort-2026").ok());
  ASSERT_TRUE(
      app_->service.EnsureAdmin("admin@bielefeld.de", "Admin-Passwort-2026").ok());  // idempotent
  v1::TokenPair admin;
  ASSERT_TRUE(SignIn("admin@bielefeld.de", "Admin-Passwort-2026", &admin).ok());
  EXPECT_TRUE(app_->verifier.Verify(admin.access_token())->HasRole("admin"));
  const v1::TokenPair citizen = RegisterAndSignIn("clerk@example.de", &anna);

  v1::SetRolesRequest req;
  req.set_account_id(anna.account_id());
  req.add_roles("operator");
  req.add_departments("streets");
  v1::Account updated;
  EXPECT_EQ(stub_->SetRoles(Ctx(citizen.access_token()).get(), req, &updated).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  ASSERT_TRUE(stub_->SetRoles(Ctx(admin.access_token()).get(), req, &updated).ok());
  EXPECT_THAT(updated.roles(), ::testing::ElementsAre("citizen", "operator"));
  v1::TokenPair next;
  ASSERT_TRUE(Refresh(citizen.refresh_token(), &next).ok());
  auto claims = app_->verifier.Verify(next.access_token());
  EXPECT_TRUE(claims->HasRole("operator"));
  EXPECT_THAT(claims->departments, ::testing::ElementsAre("streets"));
  bool published = false;
  for (const auto& e : Events()) published |= e.has_roles_changed();
  EXPECT_TRUE(published);

  req.clear_departments();
  EXPECT_EQ(stub_->SetRoles(Ctx(admin.access_token()).get(), req, &updated).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  req.add_departments("Streets!");
  EXPECT_EQ(stub_->SetRoles(Ctx(admin.access_token()).get(), req, &updated).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  req.clear_departments();
  req.clear_roles();
  req.add_roles("superuser");
  EXPECT_EQ(stub_->SetRoles(Ctx(admin.access_token()).get(), req, &updated).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

// An admin finds whom to give a role by e-mail address; nobody else may look addresses up.
TEST_F(AccountsServiceTest, AnAdminFindsAnAccountByItsEmailAddress) {
  ASSERT_TRUE(app_->service.EnsureAdmin("admin@bielefeld.de", "Admin-Passwort-2026").ok());
  v1::TokenPair admin;
  ASSERT_TRUE(SignIn("admin@bielefeld.de", "Admin-Passwort-2026", &admin).ok());
  v1::Account clerk;
  const v1::TokenPair citizen = RegisterAndSignIn("Clerk@Example.de", &clerk);
  v1::ListAccountsRequest req;
  req.set_email("clerk@example.DE");  // however it is written
  v1::ListAccountsResponse found;
  ASSERT_TRUE(stub_->ListAccounts(Ctx(admin.access_token()).get(), req, &found).ok());
  ASSERT_EQ(found.accounts_size(), 1);
  EXPECT_EQ(found.accounts(0).account_id(), clerk.account_id());
  req.set_email("nobody@example.de");
  v1::ListAccountsResponse none;
  ASSERT_TRUE(stub_->ListAccounts(Ctx(admin.access_token()).get(), req, &none).ok());
  EXPECT_EQ(none.accounts_size(), 0);
  req.set_email("not an address");
  const grpc::Status bad = stub_->ListAccounts(Ctx(admin.access_token()).get(), req, &none);
  EXPECT_EQ(bad.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(bad.error_message(), HasSubstr("email"));
  req.set_email("admin@bielefeld.de");
  EXPECT_EQ(stub_->ListAccounts(Ctx(citizen.access_token()).get(), req, &none).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(AccountsServiceTest, BootstrapAdminEmailTakenByAResidentFailsNamingTheSetting) {
  v1::Account squatter;
  ASSERT_TRUE(Register("admin@bielefeld.de", &squatter).ok());
  const absl::Status status =
      app_->service.EnsureAdmin("admin@bielefeld.de", "Admin-Passwort-2026");
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(status.message()), HasSubstr("CITYHUB_BOOTSTRAP_ADMIN_EMAIL"));
  // The account is not promoted: whoever registered it chose its password.
  EXPECT_THAT(app_->accounts.Get(squatter.account_id())->roles, ::testing::ElementsAre("citizen"));
  v1::TokenPair pair;
  EXPECT_EQ(SignIn("admin@bielefeld.de", "Admin-Passwort-2026", &pair).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  ASSERT_TRUE(SignIn("admin@bielefeld.de", kPassword, &pair).ok());
  EXPECT_FALSE(app_->verifier.Verify(pair.access_token())->HasRole("admin"));
}

// --- privacy --------------------------------------------------------------------------------

TEST_F(AccountsServiceTest, ExportHoldsAccountAuditAndSessionsButNoSecrets) {
  const v1::TokenPair pair = RegisterAndSignIn("export@example.de");
  v1::TokenPair wrong;
  (void)SignIn("export@example.de", "Wrong-password-1", &wrong);
  v1::PersonalDataExport data;
  ASSERT_TRUE(stub_->ExportMyData(Ctx(pair.access_token()).get(), {}, &data).ok());
  EXPECT_EQ(data.accounts().account().email(), "export@example.de");
  std::vector<std::string> kinds;
  for (const auto& a : data.accounts().audit()) kinds.push_back(a.kind());
  EXPECT_THAT(kinds, ::testing::ElementsAre("sign_in_failed", "sign_in", "registered"));
  EXPECT_EQ(data.accounts().audit(0).client(), "127.0.0.0/24");
  EXPECT_EQ(data.accounts().sessions_size(), 1);
  // The address signed in from, as a digest with its time; never the address itself.
  ASSERT_EQ(data.accounts().known_addresses_size(), 1);
  EXPECT_GE(data.accounts().known_addresses(0).address_hash().size(), 32u);
  EXPECT_GT(data.accounts().known_addresses(0).last_sign_in_at().seconds(), 0);
  const std::string all = data.DebugString();
  EXPECT_THAT(all, Not(HasSubstr("127.0.0.1")));
  EXPECT_THAT(all, Not(HasSubstr("argon2")));
  EXPECT_THAT(all, Not(HasSubstr(kPassword)));
  EXPECT_THAT(all, Not(HasSubstr("Wrong-password-1")));
  EXPECT_THAT(all, Not(HasSubstr(pair.refresh_token().substr(27))));
}

TEST_F(AccountsServiceTest, AuditRecordsPasswordAndRoleChangesWithoutSecrets) {
  ASSERT_TRUE(app_->service.EnsureAdmin("admin@bielefeld.de", "Admin-Passwort-2026").ok());
  v1::TokenPair admin;
  ASSERT_TRUE(SignIn("admin@bielefeld.de", "Admin-Passwort-2026", &admin).ok());
  v1::Account anna;
  const v1::TokenPair first = RegisterAndSignIn("audit-me@example.de", &anna);

  v1::ChangePasswordRequest change;
  change.set_current_password(kPassword);
  change.set_new_password("Neues-Passwort-fuer-2027");
  v1::ChangePasswordResponse changed;
  ASSERT_TRUE(stub_->ChangePassword(Ctx(first.access_token()).get(), change, &changed).ok());
  ASSERT_TRUE(RequestReset("audit-me@example.de").ok());
  const std::string reset_token = LastResetToken();
  ASSERT_TRUE(ConfirmReset(reset_token, "Zuruecksetzen-ist-gut-9").ok());
  v1::SetRolesRequest roles;
  roles.set_account_id(anna.account_id());
  roles.add_roles("operator");
  roles.add_departments("streets");
  v1::Account updated;
  ASSERT_TRUE(stub_->SetRoles(Ctx(admin.access_token()).get(), roles, &updated).ok());

  v1::TokenPair now;
  ASSERT_TRUE(SignIn("audit-me@example.de", "Zuruecksetzen-ist-gut-9", &now).ok());
  v1::PersonalDataExport data;
  ASSERT_TRUE(stub_->ExportMyData(Ctx(now.access_token()).get(), {}, &data).ok());
  std::vector<std::string> kinds;
  for (const auto& a : data.accounts().audit()) kinds.push_back(a.kind());
  EXPECT_THAT(kinds, ::testing::IsSupersetOf({"password_changed", "password_reset_requested",
                                              "password_reset", "roles_changed"}));
  auto audit = client().Command({"LRANGE", keys::Audit(anna.account_id()), "0", "-1"});
  ASSERT_TRUE(audit.ok());
  std::string stored;
  for (const auto& r : audit->elements()) stored += r.str();
  for (const std::string& text : {data.DebugString(), stored}) {
    for (const std::string& secret :
         {std::string(kPassword), std::string("Neues-Passwort-fuer-2027"),
          std::string("Zuruecksetzen-ist-gut-9"), reset_token, first.refresh_token().substr(27),
          now.refresh_token().substr(27), first.access_token(), admin.access_token()}) {
      EXPECT_THAT(text, Not(HasSubstr(secret)));
    }
    EXPECT_THAT(text, Not(HasSubstr("argon2")));
  }
}

TEST_F(AccountsServiceTest, AuditTrailIsCapped) {
  ASSERT_TRUE(Register("audited@example.de").ok());
  v1::TokenPair pair;
  for (int i = 0; i < 105; ++i) {
    ASSERT_TRUE(SignIn("audited@example.de", kPassword, &pair).ok());
  }
  v1::PersonalDataExport data;
  ASSERT_TRUE(stub_->ExportMyData(Ctx(pair.access_token()).get(), {}, &data).ok());
  EXPECT_EQ(data.accounts().audit_size(), AccountStore::kAuditCap);
}

TEST_F(AccountsServiceTest, DeletionErasesTheAccountAndFreesTheEmail) {
  v1::Account account;
  const v1::TokenPair pair = RegisterAndSignIn("leaving@example.de", &account);
  v1::DeleteMeRequest req;
  v1::DeleteMeResponse res;
  req.set_password("Wrong-password-1");
  EXPECT_EQ(stub_->DeleteMe(Ctx(pair.access_token()).get(), req, &res).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  req.set_password(kPassword);
  ASSERT_TRUE(stub_->DeleteMe(Ctx(pair.access_token()).get(), req, &res).ok());

  const auto events = Events();
  ASSERT_TRUE(events.back().has_account_deleted());
  EXPECT_EQ(events.back().account_deleted().account_id(), account.account_id());
  v1::TokenPair next;
  EXPECT_EQ(SignIn("leaving@example.de", kPassword, &next).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(Refresh(pair.refresh_token(), &next).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  v1::Account me;
  EXPECT_EQ(stub_->GetMe(Ctx(pair.access_token()).get(), {}, &me).error_code(),
            grpc::StatusCode::NOT_FOUND);
  // Nothing with the account id is left but the event.
  auto keys = client().Command({"KEYS", "*" + account.account_id() + "*"});
  EXPECT_TRUE(keys->elements().empty());
  EXPECT_TRUE(Register("leaving@example.de").ok());
}

// --- keys, internal methods, partner keys ---------------------------------------------------

TEST_F(AccountsServiceTest, JwksPublishesTheKeyThatVerifiesTokens) {
  v1::Jwks jwks;
  ASSERT_TRUE(stub_->GetJwks(Ctx().get(), {}, &jwks).ok());
  ASSERT_EQ(jwks.keys_size(), 1);
  infra::auth::TokenVerifier fresh(infra::auth::TokenSettings{}, *clock_);
  std::string json;
  ASSERT_TRUE(fresh
                  .SetKeysFromJwks(R"({"keys":[{"kty":"OKP","crv":"Ed25519","x":")" +
                                   jwks.keys(0).x() + R"("}]})")
                  .ok());
  const v1::TokenPair pair = RegisterAndSignIn("jwks@example.de");
  EXPECT_TRUE(fresh.Verify(pair.access_token()).ok());
}

TEST_F(AccountsServiceTest, TokensSignedWithThePreviousKeyStayValidAndTheJwksListsBothKeys) {
  // The key that signed before the rotation is now the previous one.
  const infra::auth::TokenSigner before(infra::auth::Ed25519Key::Generate(),
                                        infra::auth::TokenSettings{}, *clock_);
  PublishWith(&before.key());
  v1::Account account;
  const v1::TokenPair current = RegisterAndSignIn("rotated@example.de", &account);
  infra::auth::AccessClaims claims;
  claims.subject = account.account_id();
  claims.roles = {"citizen"};
  const std::string old_token = before.Sign(claims);
  v1::Account me;
  const grpc::Status got = stub_->GetMe(Ctx(old_token).get(), {}, &me);
  ASSERT_TRUE(got.ok()) << got.error_message();
  EXPECT_EQ(me.account_id(), account.account_id());

  v1::Jwks jwks;
  ASSERT_TRUE(stub_->GetJwks(Ctx().get(), {}, &jwks).ok());
  ASSERT_EQ(jwks.keys_size(), 2);
  EXPECT_EQ(jwks.keys(0).kid(), app_->signer.key().kid());
  EXPECT_EQ(jwks.keys(1).kid(), before.key().kid());
  // A verifier elsewhere (the gateway) that loads this JWKS accepts both generations.
  std::string json = R"({"keys":[)";
  for (int i = 0; i < jwks.keys_size(); ++i) {
    json += (i > 0 ? "," : "") + std::string(R"({"kty":")") + jwks.keys(i).kty() + R"(","crv":")" +
            jwks.keys(i).crv() + R"(","x":")" + jwks.keys(i).x() + R"("})";
  }
  json += "]}";
  infra::auth::TokenVerifier gateway(infra::auth::TokenSettings{}, *clock_);
  ASSERT_TRUE(gateway.SetKeysFromJwks(json).ok());
  EXPECT_TRUE(gateway.Verify(old_token).ok());
  EXPECT_TRUE(gateway.Verify(current.access_token()).ok());
  // The signing key named again as the previous one is listed once.
  EXPECT_EQ(PublishKeys(app_->signer.key(), &app_->signer.key()).jwks.keys_size(), 1);
}

TEST_F(AccountsServiceTest, InternalMethodsNeedTheInternalToken) {
  v1::Account account;
  const v1::TokenPair pair = RegisterAndSignIn("contact@example.de", &account);
  v1::GetContactRequest req;
  req.set_account_id(account.account_id());
  v1::Contact contact;
  EXPECT_EQ(stub_->GetContact(Ctx(pair.access_token()).get(), req, &contact).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  ASSERT_TRUE(stub_->GetContact(Ctx("", "10.0.0.1").get(), req, &contact).ok());
  EXPECT_EQ(contact.email(), "contact@example.de");
  EXPECT_EQ(contact.language(), "de");
}

TEST_F(AccountsServiceTest, PartnerKeysAreShownOnceStoredHashedAndRevocable) {
  v1::TokenPair admin;
  v1::CreatedApiKey created = CreatePartnerKeyAsAdmin(&admin);
  ASSERT_FALSE(created.api_key().empty());
  EXPECT_TRUE(created.api_key().starts_with("ck_"));
  auto dump = client().Command({"KEYS", "*"});
  for (const auto& k : dump->elements()) EXPECT_THAT(k.str(), Not(HasSubstr(created.api_key())));

  v1::CheckApiKeyRequest check;
  v1::CheckApiKeyResponse checked;
  check.set_api_key(created.api_key());
  ASSERT_TRUE(stub_->CheckApiKey(Ctx("", "10.0.0.1").get(), check, &checked).ok());
  EXPECT_EQ(checked.name(), "FixMyStreet Bielefeld");
  v1::ListApiKeysResponse list;
  ASSERT_TRUE(stub_->ListApiKeys(Ctx(admin.access_token()).get(), {}, &list).ok());
  ASSERT_EQ(list.api_keys_size(), 1);
  v1::DeleteApiKeyRequest del;
  del.set_api_key_id(created.api_key_id());
  v1::DeleteApiKeyResponse deleted;
  ASSERT_TRUE(stub_->DeleteApiKey(Ctx(admin.access_token()).get(), del, &deleted).ok());
  EXPECT_EQ(stub_->CheckApiKey(Ctx("", "10.0.0.1").get(), check, &checked).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  v1::CreateApiKeyRequest create;  // a name is required
  EXPECT_EQ(stub_->CreateApiKey(Ctx(admin.access_token()).get(), create, &created).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

// --- domain metrics -------------------------------------------------------------------------

TEST_F(AccountsServiceTest, DomainMetricsCountSignUpsSignInsTokensAndDeletions) {
  const auto sign_ins = [&](const std::string& outcome) {
    return metrics_.AddCounter("accounts_sign_ins_total", "", {"outcome"})
        .WithLabels({outcome})
        .Value();
  };
  const auto tokens = [&](const std::string& purpose) {
    return metrics_.AddCounter("accounts_tokens_issued_total", "", {"purpose"})
        .WithLabels({purpose})
        .Value();
  };
  const auto total = [&](const std::string& name) {
    return metrics_.AddCounter(name, "").Get().Value();
  };

  v1::TokenPair pair = RegisterAndSignIn("counted@example.de");
  EXPECT_EQ(total("accounts_sign_ups_total"), 1);
  EXPECT_EQ(tokens("email_verification"), 1);
  EXPECT_EQ(sign_ins("ok"), 1);
  EXPECT_EQ(tokens("sign_in"), 1);

  v1::TokenPair next;
  ASSERT_TRUE(Refresh(pair.refresh_token(), &next).ok());
  EXPECT_EQ(tokens("refresh"), 1);

  v1::ResendVerificationRequest resend;
  v1::ResendVerificationResponse resent;
  EXPECT_FALSE(stub_->ResendVerification(Ctx(next.access_token()).get(), resend, &resent).ok());
  EXPECT_EQ(tokens("email_verification"), 1);  // refused: too soon
  clock_->Advance(61s);
  ASSERT_TRUE(stub_->ResendVerification(Ctx(next.access_token()).get(), resend, &resent).ok());
  EXPECT_EQ(tokens("email_verification"), 2);

  ASSERT_TRUE(RequestReset("counted@example.de").ok());
  ASSERT_TRUE(RequestReset("nobody@example.de").ok());  // the same answer, but no token
  EXPECT_EQ(tokens("password_reset"), 1);

  // Wrong passwords from one address until it is throttled.
  v1::TokenPair ignored;
  int wrong = 0;
  grpc::Status status;
  while (wrong < 20 &&
         (status = SignIn("counted@example.de", "Wrong-password-1", &ignored, "203.0.113.9"))
                 .error_code() == grpc::StatusCode::UNAUTHENTICATED) {
    ++wrong;
  }
  ASSERT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << status.error_message();
  EXPECT_EQ(sign_ins("bad_credentials"), wrong);
  EXPECT_EQ(sign_ins("throttled"), 1);
  EXPECT_EQ(sign_ins("ok"), 1);

  // The bootstrap admin is no sign-up; its partner key is a token.
  v1::TokenPair admin;
  ASSERT_FALSE(CreatePartnerKeyAsAdmin(&admin).api_key().empty());
  EXPECT_EQ(tokens("api_key"), 1);
  EXPECT_EQ(total("accounts_sign_ups_total"), 1);

  v1::DeleteMeRequest del;
  del.set_password(kPassword);
  v1::DeleteMeResponse deleted;
  ASSERT_TRUE(stub_->DeleteMe(Ctx(next.access_token()).get(), del, &deleted).ok());
  EXPECT_EQ(total("accounts_deletions_total"), 1);

  // Nothing about who: no address, no e-mail in any label.
  const std::string text = metrics_.Render();
  EXPECT_THAT(text, Not(HasSubstr("example.de")));
  EXPECT_THAT(text, Not(HasSubstr("203.0.113")));
}

// --- Redis outage ---------------------------------------------------------------------------

TEST_F(AccountsServiceTest, RedisDownIsUnavailableAndTheServiceRecovers) {
  ASSERT_TRUE(Register("before@example.de").ok());
  redis().Kill();
  v1::TokenPair pair;
  EXPECT_EQ(SignIn("before@example.de", kPassword, &pair).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(Register("during@example.de").error_code(), grpc::StatusCode::UNAVAILABLE);
  redis().Start();
  EXPECT_TRUE(cityhub::testing::WaitFor(
      [&] { return SignIn("before@example.de", kPassword, &pair).ok(); }, 10s));
}

}  // namespace
}  // namespace cityhub::accounts
