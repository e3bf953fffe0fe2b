#include "services/requests/stats_store.h"

#include <charconv>
#include <cstdio>

#include "infra/log.h"
#include "infra/redis/transaction.h"
#include "infra/status.h"
#include "infra/strings.h"
#include "services/requests/keys.h"
#include "services/requests/stats_layout.h"

namespace cityhub::requests {

using infra::redis::Args;
using infra::redis::Reply;

namespace {

int64_t ToInt(const std::string& s) {
  int64_t v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

}  // namespace

StatsStore::StatsStore(infra::redis::Client& redis) : redis_(redis) {}

absl::StatusOr<StatsStore::Fields> StatsStore::Read(std::string_view jurisdiction,
                                                    std::string_view scope, int64_t since_day,
                                                    int64_t until_day) {
  const std::vector<stats::Part> parts = stats::PlanRange(since_day, until_day);
  std::vector<Args> commands;
  commands.reserve(parts.size());
  for (const auto& part : parts) {
    commands.push_back({"HGETALL", stats::Key(jurisdiction, scope, part.bucket)});
  }
  Fields sum;
  if (commands.empty()) return sum;
  ASSIGN_OR_RETURN(std::vector<Reply> replies, redis_.Pipeline(commands));
  for (size_t i = 0; i < replies.size() && i < parts.size(); ++i) {
    if (replies[i].is_error()) return infra::redis::ErrorReplyToStatus(replies[i].str());
    const auto& e = replies[i].elements();
    for (size_t j = 0; j + 1 < e.size(); j += 2) {
      const int64_t v = ToInt(e[j + 1].str());
      if (v != 0) sum[e[j].str()] += parts[i].sign * v;
    }
  }
  std::erase_if(sum, [](const auto& kv) { return kv.second == 0; });
  return sum;
}

// One request: guarded by its version, which goes up, so that a change read before this
// cannot overwrite the mark.
absl::Status StatsStore::CountOne(const std::string& key) {
  for (int attempt = 0;; ++attempt) {
    ASSIGN_OR_RETURN(Reply value, redis_.Command({"GET", key}));
    if (value.is_nil()) return absl::OkStatus();
    const std::string& s = value.str();
    int64_t version = 0;
    storage::requests::StoredRequest request;
    if (s.size() < 8 || std::from_chars(s.data(), s.data() + 8, version, 16).ec != std::errc() ||
        !request.ParseFromArray(s.data() + 8, static_cast<int>(s.size() - 8))) {
      return absl::OkStatus();  // damaged: nothing to count (reads report it)
    }
    if (request.stats_counted()) return absl::OkStatus();
    char next[24];
    std::snprintf(next, sizeof next, "%08llx", static_cast<unsigned long long>(version + 1));
    infra::redis::Transaction tx;
    tx.RequireEqual({"GETRANGE", key, "0", "7"}, s.substr(0, 8),
                    "ABORTED the request changed meanwhile")
        .Then({"SET", key, std::string(next) + s.substr(8) + stats::CountedMarker()});
    stats::AppendStatsChange(nullptr, request, tx);
    const absl::Status run = tx.Run(redis_).status();
    if (run.code() != absl::StatusCode::kAborted || attempt >= 5) return run;
  }
}

absl::StatusOr<int64_t> StatsStore::RebuildStep(std::string_view jurisdiction,
                                                int64_t max_requests) {
  const std::string version_key = stats::VersionKey(jurisdiction);
  const std::string cursor_key = stats::RebuildCursorKey(jurisdiction);
  ASSIGN_OR_RETURN(Reply version, redis_.Command({"GET", version_key}));
  if (!version.is_nil()) return 0;
  ASSIGN_OR_RETURN(Reply cursor, redis_.Command({"GET", cursor_key}));
  // The cursor's own score is read again: a request already counted is skipped by its mark.
  const std::string from = cursor.is_nil() ? "-inf" : cursor.str();
  ASSIGN_OR_RETURN(Reply page,
                   redis_.Command({"ZRANGEBYSCORE", keys::ByTime(jurisdiction), from, "+inf",
                                   "WITHSCORES", "LIMIT", "0", std::to_string(max_requests)}));
  const auto& e = page.elements();
  for (size_t i = 0; i + 1 < e.size(); i += 2) RETURN_IF_ERROR(CountOne(keys::Request(e[i].str())));
  const int64_t read = static_cast<int64_t>(e.size() / 2);
  if (read < max_requests) {
    RETURN_IF_ERROR(redis_.Command({"SET", version_key, stats::kSchemaVersion}).status());
    RETURN_IF_ERROR(redis_.Command({"DEL", cursor_key}).status());
    return read;
  }
  RETURN_IF_ERROR(redis_.Command({"SET", cursor_key, e[e.size() - 1].str()}).status());
  return read;
}

std::optional<std::chrono::milliseconds> RebuildStatsStep(
    StatsStore& stats, const std::vector<std::string>& jurisdictions, const std::stop_token& stop) {
  constexpr int64_t kBatch = 500;
  for (const std::string& jurisdiction : jurisdictions) {
    int64_t total = 0;
    absl::StatusOr<int64_t> read = kBatch;
    while (read.ok() && *read > 0 && !stop.stop_requested()) {
      read = stats.RebuildStep(jurisdiction, kBatch);
      if (read.ok()) total += *read;
    }
    if (total > 0) infra::log::Info("stats_rebuilt", {{"requests", total}});
    if (!read.ok()) {
      infra::log::Warn("stats_rebuild_failed", {{"error", read.status().message()}});
      return std::chrono::seconds(10);
    }
    if (stop.stop_requested()) return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace cityhub::requests
