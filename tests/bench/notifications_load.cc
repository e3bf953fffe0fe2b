// Load program for the notifications pipeline, against the whole stack started by the test
// harness (real Redis with AOF everysec, the three services, the gateway):
//   1. throughput: a burst of status-change events written to requests:events as the requests
//      service writes them, timed until the notifications consumer group has read and
//      acknowledged every one (each makes an inbox entry);
//   2. latency: events at a steady rate, each carrying its send time, timed until they arrive on
//      residents' open live streams (Server-Sent Events through the gateway).
// Usage: notifications_load [BURST] [RATE_PER_S] [SECONDS]   (needs CITYHUB_SOURCE_DIR/BUILD_DIR)
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <thread>

#include "cityhub/events/v1/events.pb.h"
#include "infra/clock.h"
#include "infra/events/events.h"
#include "infra/events/streams.h"
#include "infra/ids.h"
#include "infra/redis/client.h"
#include "tests/harness/api.h"
#include "tests/harness/stack.h"

namespace cityhub::testing {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;
namespace ev = cityhub::events::v1;

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

infra::redis::Args StatusEvent(const std::string& owner, const std::string& note) {
  static infra::SystemClock clock;
  ev::Event e;
  infra::events::Stamp(e, clock, "bench");
  auto* s = e.mutable_request_status_changed();
  s->set_request_id(infra::NewUlid(clock));
  s->set_service_code("pothole");
  s->set_department("roads");
  s->set_owner_account_id(owner);
  s->set_from_status(cityhub::requests::v1::SUBMITTED);
  s->set_to_status(cityhub::requests::v1::ACKNOWLEDGED);
  s->set_public_note(note);
  s->set_service_name_de("Schlagloch");
  s->set_service_name_en("Pothole");
  return infra::events::XAddArgs(infra::events::kRequestsStream, e);
}

// Whether the notifications group has read and acknowledged everything on the stream.
bool Drained(infra::redis::Client& redis) {
  auto groups = redis.Command({"XINFO", "GROUPS", infra::events::kRequestsStream});
  if (!groups.ok()) return false;
  for (const auto& g : groups->elements()) {
    std::string name;
    int64_t pending = -1, lag = -1;
    for (size_t i = 0; i + 1 < g.elements().size(); i += 2) {
      const std::string key = g.elements()[i].str();
      if (key == "name") name = g.elements()[i + 1].str();
      if (key == "pending") pending = g.elements()[i + 1].integer();
      if (key == "lag") lag = g.elements()[i + 1].integer();
    }
    if (name == "notifications") return pending == 0 && lag == 0;
  }
  return false;
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

int Run(int argc, char** argv) {
  const int burst = argc > 1 ? std::atoi(argv[1]) : 20'000;
  const int rate = argc > 2 ? std::atoi(argv[2]) : 1000;
  const int seconds = argc > 3 ? std::atoi(argv[3]) : 10;
  constexpr int kResidents = 10;

  Stack::Options options;
  options.env = {{"CITYHUB_RATE_LIMITS", "false"},
                 {"CITYHUB_LOG_LEVEL", "warn"},
                 {"CITYHUB_SSE_HEARTBEAT", "5s"}};
  Stack stack(options);
  Api api(stack.gateway_url());
  std::vector<std::pair<std::string, std::string>> residents;  // id, token
  const json off = {
      {"own_requests", false}, {"followed_requests", false}, {"department_requests", false}};
  const json prefs = {
      {"inbox",
       {{"own_requests", true}, {"followed_requests", true}, {"department_requests", true}}},
      {"push", off},
      {"email", off}};
  for (int i = 0; i < kResidents; ++i) {
    std::string id;
    const std::string token = api.NewResident(
        stack.smtp(), "bench" + std::to_string(i) + "@example.de", "de", nullptr, &id);
    if (api.Call("PUT", "/v1/me/notificationPreferences", prefs, token).status != 200) return 1;
    residents.emplace_back(id, token);
  }
  infra::redis::Client redis(stack.redis().ClientOptions());
  while (!Drained(redis)) std::this_thread::sleep_for(std::chrono::milliseconds(10));

  // 1. Throughput.
  std::vector<infra::redis::Args> batch;
  const auto start = Clock::now();
  for (int i = 0; i < burst; ++i) {
    batch.push_back(StatusEvent(residents[i % kResidents].first, "burst"));
    if (batch.size() == 500 || i == burst - 1) {
      if (!redis.Pipeline(batch).ok()) return 1;
      batch.clear();
    }
  }
  const double written_s = std::chrono::duration<double>(Clock::now() - start).count();
  while (!Drained(redis)) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  const double total_s = std::chrono::duration<double>(Clock::now() - start).count();

  // 2. Latency at a steady rate, onto open live streams.
  std::vector<std::unique_ptr<SseClient>> streams;
  for (const auto& [id, token] : residents) {
    streams.push_back(
        std::make_unique<SseClient>(stack.port("gateway"), "/v1/notifications:stream",
                                    std::vector<std::string>{"Authorization: Bearer " + token}));
    if (streams.back()->status() != 200) return 1;
  }
  const int total = rate * seconds;
  std::mutex mu;
  std::vector<double> latencies_ms;
  std::atomic<int> received{0};
  std::vector<std::thread> readers;
  for (auto& stream : streams) {
    readers.emplace_back([&, s = stream.get()] {
      const auto deadline = Clock::now() + std::chrono::seconds(seconds + 15);
      while (received.load() < total && Clock::now() < deadline) {
        for (const auto& e : s->Read(1, std::chrono::milliseconds(200))) {
          const int64_t now = NowNs();
          const auto body = json::parse(e.data, nullptr, false);
          if (body.is_discarded() || !body.contains("body")) continue;
          const int64_t sent = std::atoll(body["body"].get<std::string>().c_str());
          if (sent <= 0) continue;
          std::lock_guard lock(mu);
          latencies_ms.push_back(static_cast<double>(now - sent) / 1e6);
          ++received;
        }
      }
    });
  }
  const auto paced = Clock::now();
  for (int i = 0; i < total; ++i) {
    std::this_thread::sleep_until(paced + std::chrono::microseconds(int64_t{1'000'000} * i / rate));
    if (!redis.Command(StatusEvent(residents[i % kResidents].first, std::to_string(NowNs()))).ok())
      return 1;
  }
  const double pacing_s = std::chrono::duration<double>(Clock::now() - paced).count();
  for (auto& t : readers) t.join();

  std::printf("notifications pipeline (events -> inbox), %d residents\n", kResidents);
  std::printf(
      "  burst of %d events: written in %.2f s, all handled after %.2f s: %.0f events/s (target >= "
      "2000)\n",
      burst, written_s, total_s, burst / total_s);
  std::printf("  %d events at %d/s for %d s (paced in %.2f s): %d of %d on the live streams\n",
              total, rate, seconds, pacing_s, received.load(), total);
  std::printf(
      "  event -> live stream latency: p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms (target "
      "p99 <= 50)\n",
      Percentile(latencies_ms, 0.50), Percentile(latencies_ms, 0.90),
      Percentile(latencies_ms, 0.99), Percentile(latencies_ms, 1.0));
  return received.load() == total ? 0 : 1;
}

}  // namespace
}  // namespace cityhub::testing

int main(int argc, char** argv) { return cityhub::testing::Run(argc, argv); }
