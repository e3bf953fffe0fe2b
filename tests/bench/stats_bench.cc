// GET /v1/stats at 1 000 000 stored requests (#15), through the real gateway and requests
// service on a real Redis (the test harness's Stack), with the floor measured in the same run:
// a bare GET /healthz through the gateway and a bare Redis PING.
//
// The requests are bulk-loaded, not filed one by one: each generated request (received over
// the last 400 days, random category, district, transitions, SLA and feedback) is written as
// its stored value and time-index entry, and its counters are summed in memory with the very
// function the create and change scripts use (stats::AddContribution) and written with HSET.
// The result is the same data as filing and changing them through the service, in a minute.
//
//   stats_bench [requests=1000000] [calls=200]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "infra/ids.h"
#include "infra/redis/client.h"
#include "services/requests/keys.h"
#include "services/requests/request_store.h"
#include "services/requests/stats_layout.h"
#include "tests/harness/http.h"
#include "tests/harness/stack.h"

namespace {

namespace stats = cityhub::requests::stats;
using cityhub::storage::requests::StoredRequest;
using Clock = std::chrono::steady_clock;

constexpr int64_t kDay = 86'400'000;
const char* const kCodes[] = {"streetlight",  "pothole",         "illegal_dumping", "graffiti",
                              "damaged_sign", "overflowing_bin", "playground",      "tree"};
const char* const kDistricts[] = {"",           "mitte",      "schildesche", "gadderbaum",
                                  "brackwede",  "dornberg",   "joellenbeck", "heepen",
                                  "stieghorst", "sennestadt", "senne"};

void AddChange(StoredRequest* r, int to, int64_t at) {
  auto* c = r->add_history();
  c->set_from_status(r->status());
  c->set_to_status(to);
  c->set_at_ms(at);
  r->set_status(to);
  r->set_updated_ms(at);
}

StoredRequest Generate(std::mt19937_64& rng, int64_t now_ms) {
  std::exponential_distribution<double> ack(1.0 / kDay), work(1.0 / (6.0 * kDay));
  const int64_t at = now_ms - static_cast<int64_t>(rng() % (400 * kDay));
  StoredRequest r;
  r.set_id(
      cityhub::infra::NewUlid(cityhub::infra::Clock::time_point(std::chrono::milliseconds(at))));
  r.set_jurisdiction_id("bielefeld.de");
  r.set_service_code(kCodes[rng() % 8]);
  r.set_district(kDistricts[rng() % 11]);
  r.set_department("roads");
  r.set_status(cityhub::requests::v1::SUBMITTED);
  r.set_requested_ms(at);
  r.set_updated_ms(at);
  r.set_expected_ms(at + static_cast<int64_t>(rng() % 3) * 72 * 3'600'000);
  r.set_has_location(true);
  r.set_lat(52.02);
  r.set_long_(8.53);
  int64_t t = at + 1 + static_cast<int64_t>(ack(rng));
  if (t < now_ms && rng() % 10 < 9) {
    AddChange(
        &r, rng() % 15 == 0 ? cityhub::requests::v1::REJECTED : cityhub::requests::v1::ACKNOWLEDGED,
        t);
    t += 1 + static_cast<int64_t>(work(rng));
    if (r.status() == cityhub::requests::v1::ACKNOWLEDGED && t < now_ms && rng() % 10 < 8) {
      AddChange(&r, cityhub::requests::v1::RESOLVED, t);
      if (rng() % 4 == 0) {
        r.mutable_feedback()->set_rating(1 + static_cast<int>(rng() % 5));
        r.mutable_feedback()->set_at_ms(t + 1000);
      }
      t += 1 + static_cast<int64_t>(ack(rng));
      if (t < now_ms && rng() % 2 == 0) AddChange(&r, cityhub::requests::v1::CLOSED, t);
    }
  }
  return r;
}

void Flush(cityhub::infra::redis::Client& redis, std::vector<cityhub::infra::redis::Args>* batch) {
  if (batch->empty()) return;
  auto replies = redis.Pipeline(*batch);
  if (!replies.ok()) {
    std::fprintf(stderr, "load failed: %s\n", std::string(replies.status().message()).c_str());
    std::exit(1);
  }
  batch->clear();
}

void Load(cityhub::infra::redis::Client& redis, int count) {
  const auto started = Clock::now();
  const int64_t now_ms = cityhub::infra::UnixMillis(std::chrono::system_clock::now());
  std::mt19937_64 rng(15);
  stats::Deltas counters;
  std::vector<cityhub::infra::redis::Args> batch;
  const std::string by_time = cityhub::requests::keys::ByTime("bielefeld.de");
  for (int i = 0; i < count; ++i) {
    const StoredRequest r = Generate(rng, now_ms);
    stats::AddContribution("bielefeld.de", stats::FactsOf(r), 1, &counters);
    batch.push_back({"SET", cityhub::requests::keys::Request(r.id()),
                     "00000001" + r.SerializeAsString() + stats::CountedMarker()});
    batch.push_back(
        {"ZADD", by_time, std::to_string(cityhub::requests::SortScore(r.id())), r.id()});
    if (batch.size() >= 2000) Flush(redis, &batch);
  }
  Flush(redis, &batch);
  size_t fields = 0;
  for (const auto& [key, hash] : counters) {
    cityhub::infra::redis::Args hset = {"HSET", key};
    for (const auto& [field, value] : hash) {
      hset.push_back(field);
      hset.push_back(std::to_string(value));
    }
    fields += hash.size();
    batch.push_back(std::move(hset));
    if (batch.size() >= 200) Flush(redis, &batch);
  }
  Flush(redis, &batch);
  (void)redis.Command({"SET", stats::VersionKey("bielefeld.de"), stats::kSchemaVersion});
  std::printf("loaded %d requests, %zu counter hashes, %zu fields in %.1f s\n", count,
              counters.size(), fields,
              std::chrono::duration<double>(Clock::now() - started).count());
}

struct Figures {
  double p50 = 0, p99 = 0, max = 0;
  int errors = 0;
};

template <typename Call>
Figures Measure(int calls, Call call) {
  std::vector<double> ms;
  Figures f;
  for (int i = 0; i < calls + 10; ++i) {
    const auto start = Clock::now();
    const bool ok = call();
    const double took = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    if (!ok) ++f.errors;
    if (i >= 10) ms.push_back(took);  // the first ten warm the connections up
  }
  std::sort(ms.begin(), ms.end());
  f.p50 = ms[ms.size() / 2];
  f.p99 = ms[std::min(ms.size() - 1, ms.size() * 99 / 100)];
  f.max = ms.back();
  return f;
}

void Print(const char* name, const Figures& f, int calls) {
  std::printf("%-44s calls=%d errors=%d p50=%.2f ms p99=%.2f ms max=%.2f ms\n", name, calls,
              f.errors, f.p50, f.p99, f.max);
}

}  // namespace

int main(int argc, char** argv) {
  const int count = argc > 1 ? std::atoi(argv[1]) : 1'000'000;
  const int calls = argc > 2 ? std::atoi(argv[2]) : 200;
  cityhub::testing::Stack::Options options;
  options.notifications = false;
  // Every call must reach the service: no rate limits, no micro-cache.
  options.env["CITYHUB_RATE_LIMITS"] = "false";
  options.env["CITYHUB_GATEWAY_CACHE_TTL"] = "0ms";
  cityhub::testing::Stack stack(options);
  cityhub::infra::redis::Client redis(stack.redis().ClientOptions());
  Load(redis, count);

  const std::string base = stack.gateway_url();
  std::string sample;
  auto get = [&](const std::string& path) {
    return [&, path] {
      auto r = cityhub::testing::HttpRequest("GET", base + path);
      if (r.status != 200) sample = r.body;
      return r.status == 200;
    };
  };
  Print("GET /healthz (floor)", Measure(calls, get("/healthz")), calls);
  Print("Redis PING (floor)", Measure(calls, [&] { return redis.Command({"PING"}).ok(); }), calls);
  const struct {
    const char* name;
    const char* path;
  } cases[] = {
      {"(a) a year by month, unfiltered", "/v1/stats?group_by=month"},
      {"(b) a year by week, service_code", "/v1/stats?group_by=week&service_code=pothole"},
      {"(c) a year by month, district", "/v1/stats?group_by=month&district=mitte"},
      {"(d) a year by day, unfiltered", "/v1/stats?group_by=day"},
  };
  for (const auto& c : cases) Print(c.name, Measure(calls, get(c.path)), calls);
  auto one = cityhub::testing::HttpRequest("GET", base + "/v1/stats?group_by=month");
  std::printf("answer (a): %zu bytes, total in %s\n", one.body.size(),
              one.body.substr(one.body.find("\"total\""), 20).c_str());
  if (!sample.empty()) std::printf("a failed answer: %s\n", sample.c_str());
  return 0;
}
