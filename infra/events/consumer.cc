#include "infra/events/consumer.h"

#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <charconv>

#include "infra/events/events.h"
#include "infra/log.h"
#include "infra/status.h"
#include "infra/strings.h"

namespace cityhub::infra::events {
namespace {

using redis::Reply;

// "1700000000000-5" → {1700000000000, 5}.
std::pair<uint64_t, uint64_t> ParseId(const std::string& id) {
  const size_t dash = id.find('-');
  uint64_t ms = 0;
  uint64_t seq = 0;
  std::from_chars(id.data(), id.data() + (dash == std::string::npos ? id.size() : dash), ms);
  if (dash != std::string::npos) std::from_chars(id.data() + dash + 1, id.data() + id.size(), seq);
  return {ms, seq};
}

bool IdLess(const std::string& a, const std::string& b) { return ParseId(a) < ParseId(b); }

}  // namespace

std::string DefaultConsumerName(std::string_view listen_address) {
  char host[256] = {0};
  gethostname(host, sizeof(host) - 1);
  return StrCat(host, "-", listen_address);
}

Handler ObservingLag(Handler handler, Histogram& lag, const Clock& clock) {
  return [handler = std::move(handler), &lag, &clock](const StreamEntry& entry) {
    absl::Status status = handler(entry);
    const int64_t entered_ms = static_cast<int64_t>(ParseId(entry.id).first);
    const int64_t lag_ms = UnixMillis(clock.Now()) - entered_ms;
    lag.Observe(static_cast<double>(std::max<int64_t>(lag_ms, 0)) / 1000);
    return status;
  };
}

Consumer::Consumer(redis::Client& redis, ConsumerOptions options, Handler handler,
                   MetricsRegistry& metrics, const Clock& clock)
    : redis_(redis),
      options_(std::move(options)),
      handler_(std::move(handler)),
      clock_(clock),
      handled_(metrics.AddCounter("events_handled_total", "Stream entries handled", {"stream"})
                   .WithLabels({options_.stream})),
      failed_(metrics.AddCounter("events_failed_total", "Handler failures", {"stream"})
                  .WithLabels({options_.stream})),
      dead_(metrics
                .AddCounter("events_dead_lettered_total", "Entries moved to the dead-letter stream",
                            {"stream"})
                .WithLabels({options_.stream})),
      lag_(metrics
               .AddGauge("events_pending", "Entries delivered but not yet acknowledged", {"stream"})
               .WithLabels({options_.stream})) {
  assert(!options_.dead_letter_stream.empty() && "ConsumerOptions::dead_letter_stream is required");
  next_trim_ = std::chrono::steady_clock::now() + options_.trim_every;
}

Consumer::~Consumer() { Stop(); }

void Consumer::Start() {
  stop_.store(false);
  thread_ = std::thread([this] {
    while (!stop_.load()) {
      // An empty round normally blocks in XREADGROUP for `block`; one that comes back at once
      // with nothing means Redis refused or is away: wait instead of spinning.
      const auto start = std::chrono::steady_clock::now();
      if (RunOnce() == 0 && (!group_ready_ || std::chrono::steady_clock::now() - start <
                                                  std::chrono::milliseconds(20))) {
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
      }
    }
  });
}

void Consumer::Stop() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
}

bool Consumer::EnsureGroup() {
  if (group_ready_) return true;
  auto reply =
      redis_.Command({"XGROUP", "CREATE", options_.stream, options_.group, "0", "MKSTREAM"});
  if (reply.ok() ||
      infra::StdView(reply.status().message()).find("BUSYGROUP") != std::string_view::npos) {
    group_ready_ = true;
  }
  return group_ready_;
}

int Consumer::RunOnce() {
  if (!EnsureGroup()) return 0;
  int handled = 0;
  if (!drained_) {
    // Entries this consumer read before a crash or restart and never acknowledged.
    auto pending =
        redis_.Command({"XREADGROUP", "GROUP", options_.group, options_.consumer, "COUNT",
                        std::to_string(options_.batch), "STREAMS", options_.stream, "0"});
    if (!pending.ok()) return 0;
    const Reply* entries = pending->is_array() && !pending->elements().empty()
                               ? &pending->elements()[0].elements()[1]
                               : nullptr;
    if (entries == nullptr || entries->elements().empty()) {
      drained_ = true;
    } else {
      const int done = Handle(*entries, true);
      handled += done;
      // A failure is retried later by Claim (after claim_idle), not in a tight loop here.
      if (done < static_cast<int>(entries->elements().size())) drained_ = true;
    }
  }
  if (drained_ && handled == 0) {
    auto fresh = redis_.BlockingCommand(
        {"XREADGROUP", "GROUP", options_.group, options_.consumer, "COUNT",
         std::to_string(options_.batch), "BLOCK", std::to_string(options_.block.count()), "STREAMS",
         options_.stream, ">"},
        options_.block + std::chrono::seconds(2));
    if (fresh.ok() && fresh->is_array() && !fresh->elements().empty()) {
      handled += Handle(fresh->elements()[0].elements()[1], false);
    } else if (!fresh.ok() && fresh.status().code() == absl::StatusCode::kInternal &&
               infra::StdView(fresh.status().message()).find("NOGROUP") != std::string_view::npos) {
      group_ready_ = false;  // the stream or group was deleted: create it again
    }
  }
  const auto now = std::chrono::steady_clock::now();
  if (now >= next_claim_) {
    next_claim_ = now + options_.claim_every;
    handled += Claim();
  }
  if (now >= next_trim_) {
    next_trim_ = now + options_.trim_every;
    if (auto s = Trim(); !s.ok()) log::Warn("stream_trim_failed", {{"error", s.message()}});
  }
  return handled;
}

int Consumer::Handle(const Reply& entries, bool count_deliveries) {
  std::vector<StreamEntry> batch;
  for (const Reply& e : entries.elements()) {
    if (!e.is_array() || e.elements().size() < 2) continue;
    StreamEntry entry;
    entry.id = e.elements()[0].str();
    const auto& fields = e.elements()[1].elements();
    for (size_t i = 0; i + 1 < fields.size(); i += 2) {
      if (fields[i].str() == kTypeField) entry.type = fields[i + 1].str();
      if (fields[i].str() == kEventField) entry.payload = fields[i + 1].str();
    }
    if (count_deliveries) {
      auto info =
          redis_.Command({"XPENDING", options_.stream, options_.group, entry.id, entry.id, "1"});
      if (info.ok() && info->is_array() && !info->elements().empty()) {
        entry.deliveries = info->elements()[0].elements()[3].integer();
      }
    }
    if (entry.deliveries > options_.max_deliveries) {
      DeadLetter(entry, "too many deliveries");
      continue;
    }
    batch.push_back(std::move(entry));
  }
  // Lanes: entries with one order key stay on one lane, in order.
  const size_t lanes =
      options_.lanes > 1 && options_.order_key ? static_cast<size_t>(options_.lanes) : 1;
  std::vector<std::vector<size_t>> lane(lanes);
  for (size_t i = 0; i < batch.size(); ++i) {
    lane[lanes == 1 ? 0 : std::hash<std::string>{}(options_.order_key(batch[i])) % lanes].push_back(
        i);
  }
  std::vector<absl::Status> results(batch.size());
  const auto run = [&](const std::vector<size_t>& indexes) {
    for (size_t i : indexes) results[i] = handler_(batch[i]);
  };
  std::vector<std::thread> helpers;
  for (size_t l = 1; l < lanes; ++l) {
    if (!lane[l].empty()) helpers.emplace_back(run, std::cref(lane[l]));
  }
  run(lane[0]);
  for (auto& t : helpers) t.join();

  int handled = 0;
  std::vector<std::string> acks;
  for (size_t i = 0; i < batch.size(); ++i) {
    const StreamEntry& entry = batch[i];
    const absl::Status& status = results[i];
    if (status.ok()) {
      acks.push_back(entry.id);
      handled_.Inc();
      ++handled;
    } else {
      failed_.Inc();
      if (entry.deliveries >= options_.max_deliveries) {
        DeadLetter(entry, infra::StdView(status.message()));
      } else {
        log::Warn("event_handler_failed", {{"stream", options_.stream},
                                           {"id", entry.id},
                                           {"type", entry.type},
                                           {"error", status.message()}});
      }
    }
  }
  if (!acks.empty()) {
    redis::Args ack = {"XACK", options_.stream, options_.group};
    ack.insert(ack.end(), acks.begin(), acks.end());
    // If the ack is lost the entries come back and idempotent handlers skip them.
    (void)redis_.Command(ack);
  }
  return handled;
}

void Consumer::DeadLetter(const StreamEntry& entry, std::string_view reason) {
  // Moved and acknowledged in one atomic unit: never lost, never both live and dead.
  redis::Transaction move;
  move.Then({"XACK", options_.stream, options_.group, entry.id})
      .Append({"XADD", options_.dead_letter_stream, "*", "stream", options_.stream, "id", entry.id,
               "type", entry.type, kEventField, entry.payload, "reason", std::string(reason),
               "deliveries", std::to_string(entry.deliveries)});
  auto moved = move.Run(redis_);
  if (moved.ok()) {
    dead_.Inc();
    log::Warn(
        "event_dead_lettered",
        {{"stream", options_.stream}, {"id", entry.id}, {"type", entry.type}, {"reason", reason}});
  }
}

int Consumer::Claim() {
  auto reply = redis_.Command({"XAUTOCLAIM", options_.stream, options_.group, options_.consumer,
                               std::to_string(options_.claim_idle.count()), "0-0", "COUNT",
                               std::to_string(options_.batch)});
  if (!reply.ok() || !reply->is_array() || reply->elements().size() < 2) return 0;
  return Handle(reply->elements()[1], true);
}

absl::Status Consumer::Trim() {
  ASSIGN_OR_RETURN(const Reply groups, redis_.Command({"XINFO", "GROUPS", options_.stream}));
  // The retention window bounds the trim point from above.
  const int64_t retention_ms =
      UnixMillis(clock_.Now()) - static_cast<int64_t>(options_.retention.count());
  std::string bound = StrCat(std::max<int64_t>(retention_ms, 0), "-0");
  int64_t pending_total = 0;
  for (const Reply& g : groups.elements()) {
    std::string name, last_delivered;
    int64_t pending = 0;
    for (size_t i = 0; i + 1 < g.elements().size(); i += 2) {
      const std::string& k = g.elements()[i].str();
      if (k == "name") name = g.elements()[i + 1].str();
      if (k == "last-delivered-id") last_delivered = g.elements()[i + 1].str();
      if (k == "pending") pending = g.elements()[i + 1].integer();
    }
    if (name == options_.group) pending_total = pending;
    // Nothing after the group's last delivered entry may go; nor anything still pending.
    std::string group_bound = last_delivered;
    if (pending > 0) {
      ASSIGN_OR_RETURN(const Reply summary, redis_.Command({"XPENDING", options_.stream, name}));
      if (summary.elements().size() >= 2 && !summary.elements()[1].is_nil()) {
        group_bound = summary.elements()[1].str();
      }
    }
    if (IdLess(group_bound, bound)) bound = group_bound;
  }
  lag_.Set(static_cast<double>(pending_total));
  return redis_.Command({"XTRIM", options_.stream, "MINID", bound}).status();
}

}  // namespace cityhub::infra::events
