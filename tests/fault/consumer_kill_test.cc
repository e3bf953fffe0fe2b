// Fault: the notifications service killed with SIGKILL in the middle of a batch. Status changes
// pile up while it is stopped; it starts, and is killed once the first deliveries are out; it
// starts again. Afterwards every event has reached every channel of its recipient: one inbox
// entry, one mail, one push message and one webhook call per event. Mail, push and webhooks
// are at-least-once towards systems we do not control (a send can succeed just before the
// kill and before it is recorded); each carries a delivery id (Message-ID, X-Cityhub-Delivery,
// the push message's id) by which a receiver drops a repeat, so "once" there means one delivery
// id per event, and the test reports how many raw repeats the kill caused.
#include <chrono>
#include <cstdio>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "infra/redis/client.h"
#include "tests/fault/checks.h"
#include "tests/harness/api.h"
#include "tests/harness/health.h"
#include "tests/harness/sinks.h"
#include "tests/harness/stack.h"

namespace cityhub::testing {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

constexpr int kRequests = 30;  // each moved twice: 60 events, 60 deliveries per channel

// Per request id, the distinct delivery ids seen, and the raw count.
struct Seen {
  std::map<std::string, std::set<std::string>> ids;
  int raw = 0;
};

std::string Header(const std::string& mail, const std::string& name) {
  std::smatch m;
  const std::regex line("(^|\r\n)" + name + ": ([^\r\n]*)", std::regex::icase);
  return std::regex_search(mail, m, line) ? m[2].str() : "";
}

TEST(ConsumerKill, EveryEventReachesEveryChannelOnce) {
  HttpSink partner;
  Stack::Options options;
  options.env = {{"CITYHUB_RATE_LIMITS", "false"},
                 {"CITYHUB_EVENTS_CLAIM_IDLE", "1s"},
                 // A job the killed process had taken comes back after 3 s, not 60.
                 {"CITYHUB_DELIVERY_LEASE", "3s"},
                 {"CITYHUB_WEBHOOK_ALLOW_CIDRS", "127.0.0.1/32"}};
  Stack stack(options);
  Api api(stack.gateway_url());
  const std::string admin = api.SignIn(stack.admin_email(), stack.admin_password());
  std::string operator_id;
  api.NewResident(stack.smtp(), "technik@bielefeld.de", "de", nullptr, &operator_id);
  ASSERT_EQ(api.Call("POST", "/v1/accounts/" + operator_id + ":setRoles",
                     {{"roles", {"operator"}}, {"departments", {"roads"}}}, admin)
                .status,
            200);
  const std::string staff = api.SignIn("technik@bielefeld.de", Api::kPassword);
  const std::string resident = api.NewResident(stack.smtp(), "gerda@example.de");
  ASSERT_EQ(
      api.Call("POST", "/v1/devices",
               {{"platform", "android"}, {"push_token", "fcm-gerda-000000000000001"}}, resident)
          .status,
      201);
  const auto hook =
      api.Call("POST", "/v1/webhooks",
               {{"url", partner.url("/hook")}, {"event_types", {"RequestStatusChanged"}}}, admin);
  ASSERT_EQ(hook.status / 100, 2) << hook.raw.body;
  std::vector<std::string> ids;
  for (int i = 0; i < kRequests; ++i) {
    const auto created = api.Call("POST", "/v1/requests", PotholeReport(700 + i), resident);
    ASSERT_EQ(created.status, 201) << created.raw.body;
    ids.push_back(created.json["request_id"]);
  }
  // Let the creation events (no resident-facing delivery) pass before the batch.
  std::this_thread::sleep_for(1500ms);
  const size_t mails_before = stack.smtp().Mails().size();
  const size_t pushes_before = stack.push().count();

  stack.Stop("notifications");
  for (const char* to : {"ACKNOWLEDGED", "IN_PROGRESS"}) {
    for (const auto& id : ids) {
      ASSERT_EQ(api.Call("POST", "/v1/requests/" + id + ":transition",
                         {{"status", to}, {"public_note", "Wir kümmern uns"}}, staff)
                    .status,
                200);
    }
  }
  const int events = 2 * kRequests;
  stack.Start("notifications");
  ASSERT_TRUE(
      WaitFor([&] { return partner.count() + stack.push().count() - pushes_before >= 6; }, 30s));
  stack.Stop("notifications", /*kill=*/true);
  const size_t at_kill = partner.count();
  std::printf("killed after %zu webhook calls and %zu push messages of %d each\n", at_kill,
              stack.push().count() - pushes_before, events);
  EXPECT_LT(at_kill, static_cast<size_t>(events)) << "the batch was over before the kill";
  stack.Start("notifications");

  auto mails = [&] {
    Seen seen;
    const auto all = stack.smtp().Mails();
    for (size_t i = mails_before; i < all.size(); ++i) {
      const std::string text = all[i] + MailText(all[i]);
      ++seen.raw;
      for (const auto& id : ids)
        if (text.find(id) != std::string::npos) seen.ids[id].insert(Header(all[i], "Message-ID"));
    }
    return seen;
  };
  auto pushes = [&] {
    Seen seen;
    const auto all = stack.push().received();
    for (size_t i = pushes_before; i < all.size(); ++i) {
      ++seen.raw;
      for (const auto& id : ids)
        if (all[i].body.find(id) != std::string::npos) seen.ids[id].insert(all[i].body);
    }
    return seen;
  };
  auto webhooks = [&] {
    Seen seen;
    for (const auto& call : partner.received()) {
      ++seen.raw;
      const auto it = call.headers.find("x-cityhub-delivery");
      for (const auto& id : ids)
        if (call.body.find(id) != std::string::npos)
          seen.ids[id].insert(it == call.headers.end() ? "" : it->second);
    }
    return seen;
  };
  auto distinct = [](const Seen& s) {
    size_t n = 0;
    for (const auto& [id, deliveries] : s.ids) n += deliveries.size();
    return n;
  };
  const auto restarted = std::chrono::steady_clock::now();
  const bool all_arrived = WaitFor(
      [&] {
        const size_t m = distinct(mails()), p = distinct(pushes()), w = distinct(webhooks());
        static auto last = std::chrono::steady_clock::now();
        if (std::chrono::steady_clock::now() - last > 5s) {
          last = std::chrono::steady_clock::now();
          std::printf("so far: %zu mails, %zu push messages, %zu webhook calls\n", m, p, w);
        }
        return m >= static_cast<size_t>(events) && p >= static_cast<size_t>(events) &&
               w >= static_cast<size_t>(events);
      },
      60s);
  std::printf("everything delivered %lld ms after the restart\n",
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                         std::chrono::steady_clock::now() - restarted)
                                         .count()));
  std::this_thread::sleep_for(2500ms);  // claim cycles over what the dead process left pending
  EXPECT_TRUE(all_arrived);
  for (const auto& [channel, seen] : {std::pair{"mail", mails()}, std::pair{"push", pushes()},
                                      std::pair{"webhook", webhooks()}}) {
    std::printf("%s: %zu distinct deliveries for %d events, %d received (%d repeats)\n", channel,
                distinct(seen), events, seen.raw, seen.raw - static_cast<int>(distinct(seen)));
    for (const auto& id : ids)
      EXPECT_EQ(seen.ids.count(id) ? seen.ids.at(id).size() : 0, 2u)
          << channel << " " << id;  // two status changes each
    EXPECT_LE(seen.raw - static_cast<int>(distinct(seen)), 8) << channel;
  }
  // The inbox: exactly one entry per event, no repeat at all.
  std::multiset<std::string> inbox;
  std::string page;
  do {
    const auto r =
        api.Call("GET", "/v1/notifications?page_size=100&page_token=" + page, nullptr, resident);
    ASSERT_EQ(r.status, 200) << r.raw.body;
    for (const auto& n : r.json["notifications"])
      if (n.value("kind", "") == "KIND_OWN_REQUEST_STATUS") inbox.insert(n.value("request_id", ""));
    page = r.json.value("next_page_token", "");
  } while (!page.empty());
  for (const auto& id : ids) EXPECT_EQ(inbox.count(id), 2u) << id;
  EXPECT_EQ(inbox.size(), static_cast<size_t>(events));

  infra::redis::Client redis(stack.redis().ClientOptions());
  ExpectOutboxInvariant(redis, api, admin);
}

}  // namespace
}  // namespace cityhub::testing
