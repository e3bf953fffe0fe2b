// The notifications pipeline under faults, with the real binaries: a replica killed in the middle
// of a burst of 1 000 events and restarted, and two replicas sharing one burst. Either way each
// event leaves exactly one inbox entry per recipient: none lost, none doubled.
#include <regex>
#include <set>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cityhub/events/v1/events.pb.h"
#include "infra/clock.h"
#include "infra/events/events.h"
#include "infra/events/streams.h"
#include "infra/ids.h"
#include "infra/redis/client.h"
#include "services/notifications/keys.h"
#include "tests/harness/api.h"
#include "tests/harness/stack.h"

namespace cityhub::testing {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;
namespace ev = cityhub::events::v1;

constexpr int kBurst = 1000;
constexpr int kGroups = 4;

class NotificationsResilience : public ::testing::Test {
 protected:
  void SetUp() override {
    Stack::Options options;
    options.env = {{"CITYHUB_EVENTS_CLAIM_IDLE", "1s"},
                   {"CITYHUB_RATE_LIMIT_READ", "5000/s,burst=5000"},
                   {"CITYHUB_RATE_LIMIT_WRITE", "500/min,burst=100"},
                   {"CITYHUB_RATE_LIMIT_SIGN_IN", "500/min,burst=100"}};
    stack_ = std::make_unique<Stack>(options);
    api_ = std::make_unique<Api>(stack_->gateway_url());
    redis_ = std::make_unique<infra::redis::Client>(stack_->redis().ClientOptions());
  }

  struct Resident {
    std::string id;
    std::string token;
  };

  // A verified resident who wants only the inbox (2 000 mails would test the SMTP sink instead).
  Resident NewResident(const std::string& email) {
    Resident r;
    r.token = api_->NewResident(stack_->smtp(), email, "de", nullptr, &r.id);
    const json off = {
        {"own_requests", false}, {"followed_requests", false}, {"department_requests", false}};
    const json prefs = {
        {"inbox",
         {{"own_requests", true}, {"followed_requests", true}, {"department_requests", true}}},
        {"push", off},
        {"email", off}};
    EXPECT_EQ(api_->Call("PUT", "/v1/me/notificationPreferences", prefs, r.token).status, 200);
    return r;
  }

  // Owners and followers, kGroups of each (an inbox keeps the newest 500 entries, so the burst is
  // spread): request i belongs to owners[i % kGroups] and is followed by followers[i % kGroups].
  void People(const std::string& tag) {
    for (int g = 0; g < kGroups; ++g) {
      owners_.push_back(NewResident(tag + "-owner" + std::to_string(g) + "@example.de"));
      followers_.push_back(NewResident(tag + "-follower" + std::to_string(g) + "@example.de"));
    }
  }

  // kBurst status changes, after a follow of each request: what the requests service would
  // write, in one pipeline. Returns the request ids.
  std::vector<std::string> WriteBurst() {
    infra::SystemClock clock;
    std::vector<std::string> ids;
    std::vector<infra::redis::Args> commands;
    for (int i = 0; i < kBurst; ++i) {
      ids.push_back(infra::NewUlid(clock));
      ev::Event follow;
      infra::events::Stamp(follow, clock, "burst");
      follow.mutable_request_followed()->set_request_id(ids.back());
      follow.mutable_request_followed()->set_account_id(followers_[i % kGroups].id);
      commands.push_back(infra::events::XAddArgs(infra::events::kRequestsStream, follow));
    }
    for (int i = 0; i < kBurst; ++i) {
      ev::Event e;
      infra::events::Stamp(e, clock, "burst");
      auto* s = e.mutable_request_status_changed();
      s->set_request_id(ids[i]);
      s->set_service_code("pothole");
      s->set_department("roads");
      s->set_owner_account_id(owners_[i % kGroups].id);
      s->set_from_status(cityhub::requests::v1::SUBMITTED);
      s->set_to_status(cityhub::requests::v1::ACKNOWLEDGED);
      s->set_public_note("Eingegangen");
      s->set_service_name_de("Schlagloch");
      s->set_service_name_en("Pothole");
      commands.push_back(infra::events::XAddArgs(infra::events::kRequestsStream, e));
    }
    EXPECT_TRUE(redis_->Pipeline(commands).ok());
    return ids;
  }

  // Inbox entries of every owner and follower so far, read from the service's keys (the API is
  // down while a replica is dead).
  int64_t Delivered() {
    int64_t n = 0;
    for (const auto* group : {&owners_, &followers_}) {
      for (const auto& r : *group) {
        auto reply = redis_->Command({"ZCARD", notifications::keys::Inbox(r.id)});
        if (reply.ok()) n += reply->integer();
      }
    }
    return n;
  }

  // Every inbox entry's request id (all pages), checking each entry is of `kind`.
  std::vector<std::string> InboxRequests(const std::string& token, const std::string& kind) {
    std::vector<std::string> out;
    std::string page;
    do {
      const auto r =
          api_->Call("GET", "/v1/notifications?page_size=100&page_token=" + page, nullptr, token);
      EXPECT_EQ(r.status, 200) << r.raw.body;
      if (r.status != 200) break;
      for (const auto& n : r.json["notifications"]) {
        EXPECT_EQ(n["kind"], kind);
        out.push_back(n["request_id"]);
      }
      page = r.json.value("next_page_token", "");
    } while (!page.empty());
    return out;
  }

  // Each recipient's inbox holds exactly one entry per request of theirs.
  void ExpectExactlyOnce(const std::vector<std::string>& ids) {
    for (int g = 0; g < kGroups; ++g) {
      std::multiset<std::string> expected;
      for (int i = g; i < kBurst; i += kGroups) expected.insert(ids[i]);
      for (const auto& [who, kind] : {std::pair{&owners_[g], "KIND_OWN_REQUEST_STATUS"},
                                      std::pair{&followers_[g], "KIND_FOLLOWED_REQUEST_STATUS"}}) {
        const auto got = InboxRequests(who->token, kind);
        EXPECT_EQ(std::multiset<std::string>(got.begin(), got.end()), expected)
            << "group " << g << " " << kind;
      }
    }
  }

  int64_t Pending() {
    auto r = redis_->Command({"XPENDING", infra::events::kRequestsStream, "notifications"});
    return r.ok() && r->elements().size() >= 1 ? r->elements()[0].integer() : -1;
  }

  std::unique_ptr<Stack> stack_;
  std::unique_ptr<Api> api_;
  std::unique_ptr<infra::redis::Client> redis_;
  std::vector<Resident> owners_, followers_;
};

TEST_F(NotificationsResilience, AReplicaKilledMidBurstLosesAndDoublesNothing) {
  People("kill");
  const auto ids = WriteBurst();
  // Kill it hard somewhere in the middle of the status changes.
  ASSERT_TRUE(WaitFor([&] { return Delivered() >= 100; }, 30s));
  stack_->Stop("notifications", /*kill=*/true);
  const int64_t at_kill = Delivered();
  EXPECT_LT(at_kill, 2 * kBurst) << "the burst finished before the kill; the test proves nothing";
  std::printf("killed after %lld of %d inbox entries\n", static_cast<long long>(at_kill),
              2 * kBurst);
  stack_->Start("notifications");
  ASSERT_TRUE(WaitFor([&] { return Delivered() >= 2 * kBurst; }, 60s)) << Delivered();
  // Let claim cycles run over whatever the dead process left pending; nothing may double.
  ASSERT_TRUE(WaitFor([&] { return Pending() == 0; }, 10s));
  std::this_thread::sleep_for(2500ms);
  EXPECT_EQ(Delivered(), 2 * kBurst);
  ExpectExactlyOnce(ids);
}

double HandledEvents(int metrics_port) {
  const auto r =
      HttpRequest("GET", "http://127.0.0.1:" + std::to_string(metrics_port) + "/metrics");
  std::smatch m;
  static const std::regex kLine(std::string(R"re(events_handled_total\{stream=")re") +
                                infra::events::kRequestsStream + R"re("\} ([0-9.e+]+))re");
  return std::regex_search(r.body, m, kLine) ? std::stod(m[1]) : 0;
}

TEST_F(NotificationsResilience, TwoReplicasShareABurstWithoutDoubling) {
  People("two");
  stack_->StartReplica("notifications", "notifications-2");
  const auto ids = WriteBurst();
  ASSERT_TRUE(WaitFor([&] { return Delivered() >= 2 * kBurst; }, 60s)) << Delivered();
  ASSERT_TRUE(WaitFor([&] { return Pending() == 0; }, 10s));
  std::this_thread::sleep_for(1500ms);
  EXPECT_EQ(Delivered(), 2 * kBurst);
  ExpectExactlyOnce(ids);
  // Both took part: the second replica's own counter shows a share of the 2 000 entries.
  const double second = HandledEvents(stack_->port("notifications-2-metrics"));
  std::printf("the second replica handled %.0f of %d entries\n", second, 2 * kBurst);
  EXPECT_GT(second, 0);
  EXPECT_LT(second, 2 * kBurst);
}

}  // namespace
}  // namespace cityhub::testing
