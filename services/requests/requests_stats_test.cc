// GET /v1/stats (#15) against a brute-force recomputation: 10 000 generated requests with
// random transitions written through RequestStore's Create and Update (the scripts every
// handler uses, which keep the counters), some stored without counters and counted by the
// rebuild, read back from Redis and recounted here from their histories; again after a Redis
// restart. Counts must match exactly, durations within the histograms' 5 %.
#include <algorithm>
#include <cmath>
#include <map>
#include <random>

#include <google/protobuf/util/time_util.h>
#include <gtest/gtest.h>

#include "infra/ids.h"
#include "services/requests/keys.h"
#include "services/requests/requests_test_fixture.h"
#include "services/requests/stats_layout.h"
#include "services/requests/stats_store.h"
#include "tests/harness/process.h"

namespace cityhub::requests {
namespace {

namespace v1 = cityhub::requests::v1;
using google::protobuf::util::TimeUtil;
using storage::requests::StoredRequest;
using namespace std::chrono_literals;

constexpr int64_t kDay = 86'400'000;
const char* const kCodes[] = {"pothole", "streetlight", "graffiti", "tree"};
const char* const kDistricts[] = {"", "mitte", "nord", "sued"};

class StatsTest : public RequestsServiceTest {
 protected:
  // A request received at `at` with random transitions after it.
  void Generate(std::mt19937_64& rng, int64_t at, bool counted) {
    StoredRequest r;
    r.set_id(infra::NewUlid(infra::Clock::time_point(std::chrono::milliseconds(at))));
    r.set_jurisdiction_id("bielefeld.de");
    r.set_service_code(kCodes[rng() % 4]);
    r.set_district(kDistricts[rng() % 4]);
    r.set_department("roads");
    r.set_status(v1::SUBMITTED);
    r.set_requested_ms(at);
    r.set_updated_ms(at);
    const int sla_hours[] = {0, 24, 72, 240};
    r.set_expected_ms(at + int64_t{sla_hours[rng() % 4]} * 3'600'000);
    if (!counted) {
      // As an earlier version stored it: no counters, no mark.
      ASSERT_TRUE(client()
                      .Command({"SET", keys::Request(r.id()), "00000001" + r.SerializeAsString()})
                      .ok());
      ASSERT_TRUE(client()
                      .Command({"ZADD", keys::ByTime("bielefeld.de"),
                                std::to_string(SortScore(r.id())), r.id()})
                      .ok());
      ids_.push_back(r.id());
      return;
    }
    ASSERT_TRUE(requests_->Create(r, {}, "", 0s).ok());
    ids_.push_back(r.id());
    int64_t t = at;
    std::exponential_distribution<double> gap(1.0 / (3.0 * kDay));
    const int steps = static_cast<int>(rng() % 5);
    for (int i = 0; i < steps; ++i) {
      t += 1 + static_cast<int64_t>(gap(rng));
      auto before = requests_->Get(r.id());
      ASSERT_TRUE(before.ok()) << before.status();
      StoredRequest after = before->request;
      Step(rng, t, &after);
      ASSERT_TRUE(requests_->Update(*before, after, {}).ok());
    }
  }

  // One random change: mostly a status move, sometimes a reroute, a new district or feedback.
  static void Step(std::mt19937_64& rng, int64_t t, StoredRequest* r) {
    const int dice = static_cast<int>(rng() % 10);
    if (dice == 0) {
      const std::string from = r->service_code();
      r->set_service_code(kCodes[rng() % 4]);
      r->set_expected_ms(r->requested_ms() + int64_t{24 * static_cast<int>(rng() % 3)} * 3'600'000);
      auto* c = r->add_history();
      c->set_kind("reroute");
      c->set_from_status(r->status());
      c->set_to_status(r->status());
      c->set_at_ms(t);
      c->set_from_value(from);
      c->set_to_value(r->service_code());
      return;
    }
    if (dice == 1) {
      r->set_district(kDistricts[rng() % 4]);
      return;
    }
    if (dice == 2 && !r->has_feedback() && r->status() >= v1::RESOLVED) {
      r->mutable_feedback()->set_rating(1 + static_cast<int>(rng() % 5));
      r->mutable_feedback()->set_at_ms(t);
      return;
    }
    const std::map<int, std::vector<int>> next = {
        {v1::SUBMITTED, {v1::ACKNOWLEDGED, v1::ACKNOWLEDGED, v1::REJECTED, v1::IN_PROGRESS}},
        {v1::ACKNOWLEDGED, {v1::IN_PROGRESS, v1::RESOLVED}},
        {v1::IN_PROGRESS, {v1::RESOLVED, v1::DUPLICATE}},
        {v1::RESOLVED, {v1::CLOSED, v1::IN_PROGRESS}},
        {v1::REJECTED, {v1::CLOSED}},
        {v1::DUPLICATE, {v1::CLOSED}}};
    auto it = next.find(r->status());
    if (it == next.end()) return;  // CLOSED stays
    const int to = it->second[rng() % it->second.size()];
    auto* c = r->add_history();
    c->set_from_status(r->status());
    c->set_to_status(to);
    c->set_at_ms(t);
    r->set_status(to);
    r->set_updated_ms(t);
  }

  std::vector<StoredRequest> ReadAll() {
    std::vector<StoredRequest> out;
    for (size_t i = 0; i < ids_.size(); i += 500) {
      std::vector<std::string> page(ids_.begin() + i,
                                    ids_.begin() + std::min(ids_.size(), i + 500));
      auto got = requests_->GetMany(page);
      EXPECT_TRUE(got.ok()) << got.status();
      if (!got.ok()) return out;
      for (auto& r : *got) {
        EXPECT_TRUE(r.has_value());
        if (r) out.push_back(std::move(*r));
      }
    }
    return out;
  }

  v1::Stats Query(const v1::GetStatsRequest& req) {
    v1::Stats out;
    const grpc::Status s = stub_->GetStats(Ctx().get(), req, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out;
  }

  std::vector<std::string> ids_;
};

struct StatsQuery {
  int64_t since_day, until_day;
  std::string service_code, district, group_by;
};

int64_t Period(const std::string& g, int64_t day) {
  if (g == "week") return stats::WeekOfDay(day);
  if (g == "day") return day;
  return stats::MonthOfDay(day);
}

// The exact figure at nearest rank ceil(q n) of `values` (seconds).
double Exact(std::vector<double> values, double q) {
  std::sort(values.begin(), values.end());
  const size_t rank = std::max<size_t>(1, static_cast<size_t>(std::ceil(q * values.size())));
  return values[rank - 1];
}

void ExpectNear(const v1::StatsDurations& got, const std::vector<double>& exact,
                const std::string& what) {
  ASSERT_EQ(got.count(), static_cast<int>(exact.size())) << what;
  if (exact.empty()) {
    EXPECT_FALSE(got.has_median_seconds()) << what;
    return;
  }
  const double median = Exact(exact, 0.5), p90 = Exact(exact, 0.9);
  EXPECT_NEAR(got.median_seconds(), median, 0.05 * median + 1) << what;
  EXPECT_NEAR(got.p90_seconds(), p90, 0.05 * p90 + 1) << what;
}

// Recounts `q` from the requests themselves, independently of stats_layout's code.
void Check(const std::vector<StoredRequest>& all, const StatsQuery& q, const v1::Stats& got) {
  const std::string what = "query " + std::to_string(q.since_day) + ".." +
                           std::to_string(q.until_day) + " " + q.service_code + "/" + q.district +
                           " by " + q.group_by;
  int total = 0;
  std::map<int, int> status;
  std::map<std::string, int> district, service;
  std::map<int64_t, int> received, closed;
  std::vector<double> ack, res;
  std::map<std::string, std::vector<double>> ack_of, res_of;
  int sla = 0, within = 0, feedback = 0, ratings = 0;
  for (const auto& r : all) {
    const int64_t day = stats::DayOf(r.requested_ms());
    if (day < q.since_day || day >= q.until_day) continue;
    if (!q.service_code.empty() && r.service_code() != q.service_code) continue;
    if (!q.district.empty() && r.district() != q.district) continue;
    ++total;
    ++status[r.status()];
    ++district[r.district()];
    ++service[r.service_code()];
    ++received[Period(q.group_by, day)];
    bool acked = false, resolved = false, shut = false;
    for (const auto& c : r.history()) {
      const double secs = (c.at_ms() - r.requested_ms()) / 1000.0;
      if (!acked && c.to_status() != v1::SUBMITTED) {
        acked = true;
        ack.push_back(secs);
        ack_of[r.service_code()].push_back(secs);
      }
      if (!resolved && (c.to_status() == v1::RESOLVED || c.to_status() == v1::CLOSED)) {
        resolved = true;
        res.push_back(secs);
        res_of[r.service_code()].push_back(secs);
        if (r.expected_ms() > r.requested_ms()) {
          ++sla;
          if (c.at_ms() <= r.expected_ms()) ++within;
        }
      }
      if (!shut && c.to_status() >= v1::RESOLVED) {
        shut = true;
        ++closed[Period(q.group_by, stats::DayOf(c.at_ms()))];
      }
    }
    if (r.has_feedback()) {
      ++feedback;
      ratings += r.feedback().rating();
    }
  }
  ASSERT_EQ(got.total(), total) << what;
  std::map<int, int> got_status;
  for (const auto& s : got.by_status()) got_status[s.status()] = s.count();
  EXPECT_EQ(got_status, status) << what;
  std::map<std::string, int> got_district, got_service;
  for (const auto& d : got.by_district()) got_district[d.district()] = d.count();
  EXPECT_EQ(got_district, district) << what;
  for (const auto& s : got.by_service()) {
    got_service[s.service_code()] = s.count();
    ExpectNear(s.time_to_acknowledge(), ack_of[s.service_code()],
               what + " ack " + s.service_code());
    ExpectNear(s.time_to_resolve(), res_of[s.service_code()],
               what + " resolve " + s.service_code());
  }
  EXPECT_EQ(got_service, service) << what;
  ExpectNear(got.time_to_acknowledge(), ack, what + " ack");
  ExpectNear(got.time_to_resolve(), res, what + " resolve");
  EXPECT_EQ(got.within_sla().count(), sla) << what;
  if (sla > 0) {
    EXPECT_DOUBLE_EQ(got.within_sla().share(), double(within) / sla) << what;
  }
  EXPECT_EQ(got.feedback().count(), feedback) << what;
  if (feedback > 0) {
    EXPECT_NEAR(got.feedback().average_rating(), double(ratings) / feedback, 1e-9);
  }
  const int64_t first = Period(q.group_by, q.since_day), last = Period(q.group_by, q.until_day - 1);
  ASSERT_EQ(got.periods_size(), last - first + 1) << what;
  for (int64_t p = first; p <= last; ++p) {
    const auto& row = got.periods(static_cast<int>(p - first));
    EXPECT_EQ(row.received(), received[p]) << what << " period " << p;
    EXPECT_EQ(row.closed(), closed[p]) << what << " period " << p;
  }
}

v1::GetStatsRequest Request(const StatsQuery& q) {
  v1::GetStatsRequest req;
  *req.mutable_since() = TimeUtil::MillisecondsToTimestamp(q.since_day * kDay);
  // A time inside the last day: rounded up to its end.
  *req.mutable_until() = TimeUtil::MillisecondsToTimestamp((q.until_day - 1) * kDay + 3'600'000);
  req.set_service_code(q.service_code);
  req.set_district(q.district);
  req.set_group_by(q.group_by);
  return req;
}

TEST_F(StatsTest, FiguresMatchABruteForceRecountBeforeAndAfterARedisRestart) {
  ASSERT_TRUE(client().Command({"CONFIG", "SET", "appendfsync", "always"}).ok());
  std::mt19937_64 rng(15);
  const int64_t today = stats::DayOf(infra::UnixMillis(clock_->Now()));
  const int64_t start_ms = (today - 420) * kDay;
  for (int i = 0; i < 10'000; ++i) {
    const int64_t at = start_ms + static_cast<int64_t>(rng() % (420 * kDay));
    ASSERT_NO_FATAL_FAILURE(Generate(rng, at, /*counted=*/i % 20 != 0));
  }
  // The requests stored without counters (one in 20) are counted by the rebuild.
  StatsStore stats(client());
  absl::StatusOr<int64_t> read = 1;
  while (read.ok() && *read > 0) read = stats.RebuildStep("bielefeld.de", 500);
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_TRUE(client().Command({"EXISTS", stats::VersionKey("bielefeld.de")})->integer() == 1);

  const std::vector<StatsQuery> queries = {
      {today - 365, today + 1, "", "", "month"},
      {today - 400, today - 30, "pothole", "", "week"},
      {today - 90, today - 3, "", "mitte", "day"},
      {today - 200, today - 17, "tree", "nord", "month"},
      {today - 420, today + 1, "", "", "week"},
      {today - 45, today - 44, "graffiti", "", "day"},
  };
  const std::vector<StoredRequest> all = ReadAll();
  ASSERT_EQ(all.size(), 10'000u);
  for (const auto& q : queries) ASSERT_NO_FATAL_FAILURE(Check(all, q, Query(Request(q))));

  redis().Kill();
  redis().Start();
  ASSERT_TRUE(cityhub::testing::WaitFor([&] { return client().Command({"PING"}).ok(); }, 10s));
  const std::vector<StoredRequest> again = ReadAll();
  ASSERT_EQ(again.size(), 10'000u);
  for (const auto& q : queries) {
    v1::Stats got;
    ASSERT_TRUE(cityhub::testing::WaitFor(
        [&] { return stub_->GetStats(Ctx().get(), Request(q), &got).ok(); }, 10s));
    ASSERT_NO_FATAL_FAILURE(Check(again, q, got));
  }
}

TEST_F(StatsTest, AFiledAndTransitionedRequestIsCountedThroughTheService) {
  const v1::ServiceRequest r = File(kAnna, NewRequest("streetlight"));
  v1::TransitionRequestRequest move;
  move.set_request_id(r.request_id());
  move.set_status(v1::ACKNOWLEDGED);
  v1::ServiceRequest out;
  ASSERT_TRUE(stub_->TransitionRequest(Ctx(kLights).get(), move, &out).ok());
  v1::GetStatsRequest req;
  req.set_group_by("day");
  const v1::Stats got = Query(req);
  EXPECT_EQ(got.total(), 1);
  ASSERT_EQ(got.by_status_size(), 1);
  EXPECT_EQ(got.by_status(0).status(), v1::ACKNOWLEDGED);
  EXPECT_EQ(got.time_to_acknowledge().count(), 1);
  EXPECT_EQ(got.periods_size(), 365);
  EXPECT_EQ(got.periods(364).received(), 1);
  EXPECT_FALSE(got.within_sla().has_share());
  EXPECT_FALSE(got.feedback().has_average_rating());
}

TEST_F(StatsTest, BadInputIsRefusedNamingTheField) {
  auto refused = [&](v1::GetStatsRequest req, const std::string& field) {
    v1::Stats out;
    const grpc::Status s = stub_->GetStats(Ctx().get(), req, &out);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << field;
    EXPECT_EQ(s.error_message().rfind(field + ":", 0), 0u) << s.error_message();
  };
  v1::GetStatsRequest req;
  req.set_group_by("year");
  refused(req, "group_by");
  req = {};
  *req.mutable_since() = TimeUtil::MillisecondsToTimestamp(2 * kDay * 1000);
  *req.mutable_until() = TimeUtil::MillisecondsToTimestamp(kDay * 1000);
  refused(req, "until");
  *req.mutable_since() = TimeUtil::MillisecondsToTimestamp(kDay * 10);
  *req.mutable_until() = TimeUtil::MillisecondsToTimestamp(kDay * 10 + 6 * 366 * kDay);
  refused(req, "since");
  *req.mutable_until() = TimeUtil::MillisecondsToTimestamp(kDay * 10 + 1001 * kDay);
  req.set_group_by("day");
  refused(req, "group_by");
  req = {};
  req.set_district("Mitte!");
  refused(req, "district");
  req = {};
  req.set_service_code("no spaces");
  refused(req, "service_code");
}

}  // namespace
}  // namespace cityhub::requests
