#include "infra/log.h"

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <memory>
#include <mutex>

#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include "infra/strings.h"
#include "infra/text.h"

namespace cityhub::infra::log {
namespace {

constexpr std::string_view kLevelNames[] = {"debug", "info", "warn", "error"};

// Process-wide logging state: one sink for the whole process is what logging means; it is set
// once in main before threads start.
struct State {
  std::string service = "unknown";
  std::atomic<int> level{static_cast<int>(Level::kInfo)};
  std::shared_ptr<spdlog::logger> logger;
};

// Standard output in whole lines, written when 16 KiB have gathered or the logger flushes
// (warnings and errors at once, the rest at least every second, and on shutdown). spdlog's own
// stdout sink flushes after every line: a write(2) per RPC, a sixth of the gateway's time per
// request. Lines are never split across writes, so a reader of the file (a log shipper, a test)
// never sees half a line. What a crash loses is at most the last second of info lines.
class LineBufferedStdoutSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  ~LineBufferedStdoutSink() override { WriteOut(); }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t formatted;
    formatter_->format(msg, formatted);
    pending_.append(formatted.data(), formatted.size());
    if (pending_.size() >= 16 * 1024) WriteOut();
  }
  void flush_() override { WriteOut(); }

 private:
  void WriteOut() {
    if (pending_.empty()) return;
    std::fwrite(pending_.data(), 1, pending_.size(), stdout);
    std::fflush(stdout);
    pending_.clear();
  }

  std::string pending_;
};

State& GetState() {
  static State* state = [] {
    auto* s = new State();
    s->logger =
        std::make_shared<spdlog::logger>("cityhub", std::make_shared<LineBufferedStdoutSink>());
    s->logger->set_pattern("%v");
    s->logger->set_level(spdlog::level::trace);
    // Warnings and errors are written at once; other lines within a second (a write per
    // line would cost a system call on every RPC). Clean shutdown flushes (Flush()).
    s->logger->flush_on(spdlog::level::warn);
    spdlog::register_logger(s->logger);
    spdlog::flush_every(std::chrono::seconds(1));
    return s;
  }();
  return *state;
}

void AppendTimestamp(std::string& out) {
  const auto now = std::chrono::system_clock::now();
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms % 1000));
  out += buf;
}

}  // namespace

void Init(std::string_view service, Level level) {
  State& state = GetState();
  state.service = std::string(service);
  state.level.store(static_cast<int>(level));
}

absl::StatusOr<Level> ParseLevel(std::string_view name) {
  for (int i = 0; i < 4; ++i) {
    if (kLevelNames[i] == name) return static_cast<Level>(i);
  }
  return absl::InvalidArgumentError(
      StrCat("'", name, "' is not a log level (debug, info, warn, error)"));
}

bool Enabled(Level level) { return static_cast<int>(level) >= GetState().level.load(); }

std::string Format(Level level, std::string_view event, std::initializer_list<Field> fields) {
  std::string line;
  line.reserve(160);
  line += "{\"ts\":\"";
  AppendTimestamp(line);
  line += "\",\"level\":\"";
  line += kLevelNames[static_cast<int>(level)];
  line += "\",\"service\":";
  AppendJsonString(line, GetState().service);
  line += ",\"event\":";
  AppendJsonString(line, event);
  for (const Field& f : fields) {
    line += ',';
    AppendJsonString(line, f.key);
    line += ':';
    if (const auto* s = std::get_if<std::string_view>(&f.value)) {
      AppendJsonString(line, *s);
    } else if (const auto* i = std::get_if<int64_t>(&f.value)) {
      StrAppend(&line, *i);
    } else if (const auto* d = std::get_if<double>(&f.value)) {
      if (std::isfinite(*d)) {
        StrAppend(&line, *d);
      } else {
        line += "null";  // JSON has no NaN or infinity
      }
    } else {
      line += std::get<bool>(f.value) ? "true" : "false";
    }
  }
  line += '}';
  return line;
}

void Write(Level level, std::string_view event, std::initializer_list<Field> fields) {
  if (!Enabled(level)) return;
  const std::string line = Format(level, event, fields);
  static constexpr spdlog::level::level_enum kSpd[] = {spdlog::level::debug, spdlog::level::info,
                                                       spdlog::level::warn, spdlog::level::err};
  GetState().logger->log(kSpd[static_cast<int>(level)], line);
}

void Flush() { GetState().logger->flush(); }

}  // namespace cityhub::infra::log
