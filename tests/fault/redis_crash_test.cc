// Fault: Redis killed with SIGKILL in the middle of a write load (creates, transitions, comments,
// sign-ups) and restarted from its append-only file. Every write the API acknowledged with a 2xx
// must be there afterwards, with exactly one event per change in the streams, and the outbox
// invariant must hold for every stored request (one creation event each, and every creation event
// names a stored request). Run once with `appendfsync always` and once with `everysec`: a process
// crash (as opposed to a machine crash) loses nothing in either mode, because Redis hands each
// write to the kernel before it answers.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cityhub/events/v1/events.pb.h"
#include "infra/events/events.h"
#include "infra/events/streams.h"
#include "infra/redis/client.h"
#include "tests/fault/checks.h"
#include "tests/harness/api.h"
#include "tests/harness/stack.h"

namespace cityhub::testing {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

struct Acknowledged {
  std::mutex mu;
  std::vector<std::string> creates;                           // request ids
  std::vector<std::pair<std::string, int>> transitions;       // request id, to_status
  std::vector<std::pair<std::string, std::string>> comments;  // request id, comment id
  std::vector<std::pair<std::string, std::string>> sign_ups;  // account id, e-mail
  std::map<int, int> answers;                                 // HTTP status → count
  int slowest_ms = 0;

  void Count(int status, std::chrono::steady_clock::duration took) {
    std::lock_guard lock(mu);
    ++answers[status];
    slowest_ms = std::max(
        slowest_ms,
        static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(took).count()));
  }
};

class RedisCrash : public ::testing::TestWithParam<const char*> {};

TEST_P(RedisCrash, EveryAcknowledgedWriteSurvivesWithExactlyOneEvent) {
  Stack::Options options;
  options.redis.appendfsync = GetParam();
  options.env = {{"CITYHUB_RATE_LIMITS", "false"}};
  Stack stack(options);
  Api api(stack.gateway_url());
  const std::string admin = api.SignIn(stack.admin_email(), stack.admin_password());
  std::string operator_id;
  api.NewResident(stack.smtp(), "strassen@bielefeld.de", "de", nullptr, &operator_id);
  ASSERT_EQ(api.Call("POST", "/v1/accounts/" + operator_id + ":setRoles",
                     {{"roles", {"operator"}}, {"departments", {"roads"}}}, admin)
                .status,
            200);
  const std::string staff = api.SignIn("strassen@bielefeld.de", Api::kPassword);
  const std::string resident = api.NewResident(stack.smtp(), "melderin@example.de");

  // Requests to move along and comment on while the load runs.
  std::vector<std::string> targets;
  for (int i = 0; i < 60; ++i) {
    const auto created = api.Call("POST", "/v1/requests", PotholeReport(100000 + i), resident);
    ASSERT_EQ(created.status, 201) << created.raw.body;
    targets.push_back(created.json["request_id"]);
  }

  Acknowledged acked;
  std::atomic<bool> stop = false;
  std::vector<std::thread> load;
  for (int worker = 0; worker < 2; ++worker) {
    load.emplace_back([&, worker] {
      for (int n = 0; !stop; ++n) {
        const std::string key =
            "Idempotency-Key: fault-" + std::to_string(worker) + "-" + std::to_string(n);
        const auto start = std::chrono::steady_clock::now();
        const auto r =
            api.Call("POST", "/v1/requests", PotholeReport(worker * 100000 + n), resident, {key});
        acked.Count(r.status, std::chrono::steady_clock::now() - start);
        if (r.status / 100 == 2) {
          std::lock_guard lock(acked.mu);
          acked.creates.push_back(r.json["request_id"]);
        }
      }
    });
  }
  load.emplace_back([&] {
    // Each target: SUBMITTED → ACKNOWLEDGED → IN_PROGRESS, retrying a step that failed.
    for (int step = 0; !stop; ++step) {
      const std::string& id = targets[step % targets.size()];
      const bool second = (step / targets.size()) % 2 == 1;
      const char* to = second ? "IN_PROGRESS" : "ACKNOWLEDGED";
      if (step >= 2 * static_cast<int>(targets.size())) {
        std::this_thread::sleep_for(5ms);
        continue;
      }
      const auto start = std::chrono::steady_clock::now();
      const auto r = api.Call("POST", "/v1/requests/" + id + ":transition",
                              {{"status", to}, {"public_note", "Wir sind dran"}}, staff);
      acked.Count(r.status, std::chrono::steady_clock::now() - start);
      if (r.status / 100 == 2) {
        std::lock_guard lock(acked.mu);
        acked.transitions.emplace_back(id, second ? 3 : 2);
      }
    }
  });
  load.emplace_back([&] {
    for (int n = 0; !stop; ++n) {
      const std::string& id = targets[n % targets.size()];
      const auto start = std::chrono::steady_clock::now();
      const auto r = api.Call("POST", "/v1/requests/" + id + "/comments",
                              {{"text", "Noch da, Nummer " + std::to_string(n)}}, resident);
      acked.Count(r.status, std::chrono::steady_clock::now() - start);
      if (r.status / 100 == 2) {
        std::lock_guard lock(acked.mu);
        acked.comments.emplace_back(id, r.json["comment_id"]);
      }
    }
  });
  load.emplace_back([&] {
    for (int n = 0; !stop; ++n) {
      const auto start = std::chrono::steady_clock::now();
      const std::string email = "neu-" + std::to_string(n) + "@example.de";
      const auto r = api.Call("POST", "/v1/accounts",
                              {{"email", email},
                               {"password", Api::kPassword},
                               {"display_name", "Neu"},
                               {"language", "de"}});
      acked.Count(r.status, std::chrono::steady_clock::now() - start);
      if (r.status / 100 == 2) {
        std::lock_guard lock(acked.mu);
        acked.sign_ups.emplace_back(r.json["account_id"], email);
      }
    }
  });

  std::this_thread::sleep_for(1500ms);
  stack.redis().Kill();
  std::this_thread::sleep_for(1s);
  stack.redis().Start();
  std::this_thread::sleep_for(2500ms);
  stop = true;
  for (auto& t : load) t.join();

  std::printf("appendfsync %s: answers", GetParam());
  for (const auto& [status, count] : acked.answers) std::printf(" %d×%d", count, status);
  std::printf(
      "; slowest %d ms; acknowledged: %zu creates, %zu transitions, %zu comments, %zu "
      "sign-ups\n",
      acked.slowest_ms, acked.creates.size(), acked.transitions.size(), acked.comments.size(),
      acked.sign_ups.size());
  // During the outage the API answers 503, never 500, and no call hangs past its deadline.
  for (const auto& [status, count] : acked.answers) {
    EXPECT_TRUE(status / 100 == 2 || status == 503) << count << " answers " << status;
  }
  EXPECT_GT(acked.answers[503], 0) << "the outage was not seen";
  EXPECT_LT(acked.slowest_ms, 12'000);
  ASSERT_GT(acked.creates.size(), 10u);

  infra::redis::Client redis(stack.redis().ClientOptions());
  const auto request_events = ReadStream(redis, infra::events::kRequestsStream);
  const auto account_events = ReadStream(redis, infra::events::kAccountsStream);
  std::map<std::string, int> created_events, registered_events, comment_events;
  std::map<std::pair<std::string, int>, int> status_events;
  for (const auto& e : request_events) {
    if (e.has_request_created()) ++created_events[e.request_created().request_id()];
    if (e.has_request_status_changed()) {
      const auto& c = e.request_status_changed();
      ++status_events[{c.request_id(), static_cast<int>(c.to_status())}];
    }
    if (e.has_comment_added()) ++comment_events[e.comment_added().comment_id()];
  }
  for (const auto& e : account_events) {
    if (e.has_account_registered()) ++registered_events[e.account_registered().account_id()];
  }

  int lost = 0;
  for (const auto& id : acked.creates) {
    const auto r = api.Call("GET", "/v1/requests/" + id, nullptr, admin);
    lost += r.status != 200;
    EXPECT_EQ(r.status, 200) << id;
    EXPECT_EQ(created_events[id], 1) << id;
  }
  for (const auto& [id, to] : acked.transitions) {
    EXPECT_EQ((status_events[{id, to}]), 1) << id << " → " << to;
    const auto r = api.Call("GET", "/v1/requests/" + id, nullptr, admin);
    bool in_history = false;
    for (const auto& change : r.json.value("history", json::array()))
      in_history =
          in_history || change.value("to_status", "") == (to == 2 ? "ACKNOWLEDGED" : "IN_PROGRESS");
    lost += !in_history;
    EXPECT_TRUE(in_history) << id << " → " << to << ": " << r.raw.body;
  }
  std::map<std::string, std::set<std::string>> stored_comments;
  for (const auto& [id, comment] : acked.comments) {
    if (!stored_comments.contains(id)) {
      const auto r =
          api.Call("GET", "/v1/requests/" + id + "/comments?page_size=100", nullptr, admin);
      for (const auto& c : r.json.value("comments", json::array()))
        stored_comments[id].insert(c.value("comment_id", ""));
    }
    lost += !stored_comments[id].contains(comment);
    EXPECT_TRUE(stored_comments[id].contains(comment)) << id << " comment " << comment;
    EXPECT_EQ(comment_events[comment], 1) << comment;
  }
  for (const auto& [account, email] : acked.sign_ups) {
    EXPECT_EQ(registered_events[account], 1) << account;
    const auto r = api.Call("GET", "/v1/accounts/" + account, nullptr, admin);
    lost += r.status != 200 || r.json.value("email", "") != email;
    EXPECT_EQ(r.status, 200) << account << ": " << r.raw.body;
  }
  std::printf("appendfsync %s: %d acknowledged writes missing after the restart\n", GetParam(),
              lost);

  // The outbox invariant over everything stored, acknowledged or not.
  EXPECT_GE(ExpectOutboxInvariant(redis, api, admin), acked.creates.size());
}

INSTANTIATE_TEST_SUITE_P(Fsync, RedisCrash, ::testing::Values("always", "everysec"),
                         [](const auto& info) { return std::string(info.param); });

}  // namespace
}  // namespace cityhub::testing
