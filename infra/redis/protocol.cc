// What Redis's answers and URLs mean: error replies as statuses, which commands only read,
// script SHAs, redis:// URLs. Declared in infra/redis/client.h.
#include <algorithm>
#include <cctype>
#include <charconv>

#include <openssl/sha.h>

#include "infra/config.h"
#include "infra/ids.h"
#include "infra/redis/client.h"
#include "infra/status.h"
#include "infra/strings.h"

namespace cityhub::infra::redis {

absl::Status ErrorReplyToStatus(std::string_view error) {
  struct Mapping {
    std::string_view prefix;
    absl::StatusCode code;
    bool strip;  // our own domain codes are stripped from the message
  };
  static constexpr Mapping kMappings[] = {
      {"NOT_FOUND ", absl::StatusCode::kNotFound, true},
      {"ALREADY_EXISTS ", absl::StatusCode::kAlreadyExists, true},
      {"FAILED_PRECONDITION ", absl::StatusCode::kFailedPrecondition, true},
      {"INVALID_ARGUMENT ", absl::StatusCode::kInvalidArgument, true},
      {"ABORTED ", absl::StatusCode::kAborted, true},
      {"PERMISSION_DENIED ", absl::StatusCode::kPermissionDenied, true},
      {"RESOURCE_EXHAUSTED ", absl::StatusCode::kResourceExhausted, true},
      {"UNAUTHENTICATED ", absl::StatusCode::kUnauthenticated, true},
      {"LOADING", absl::StatusCode::kUnavailable, false},
      {"BUSY", absl::StatusCode::kUnavailable, false},
      {"MASTERDOWN", absl::StatusCode::kUnavailable, false},
      {"READONLY", absl::StatusCode::kUnavailable, false},
      {"NOAUTH", absl::StatusCode::kUnavailable, false},
      {"WRONGPASS", absl::StatusCode::kUnavailable, false},
      {"NOPERM", absl::StatusCode::kUnavailable, false},
      {"OOM", absl::StatusCode::kResourceExhausted, false},
      {"WRONGTYPE", absl::StatusCode::kFailedPrecondition, false},
  };
  // Errors raised by redis.error_reply inside scripts may arrive prefixed by Redis with
  // nothing; errors from redis.call failures carry "ERR Error running script" text.
  for (const Mapping& m : kMappings) {
    if (error.starts_with(m.prefix)) {
      std::string_view message = m.strip ? error.substr(m.prefix.size()) : error;
      return absl::Status(m.code, m.strip ? std::string(message) : StrCat("redis: ", message));
    }
  }
  return absl::InternalError(StrCat("redis: ", error));
}

absl::StatusOr<Options> ParseUrl(std::string_view url) {
  Options options;
  options.tls = url.starts_with("rediss://");
  if (!options.tls && !url.starts_with("redis://")) {
    return absl::InvalidArgumentError("redis URL must start with redis:// or rediss://");
  }
  std::string_view rest = url.substr(url.find("://") + 3);
  if (const size_t at = rest.rfind('@'); at != std::string_view::npos) {
    std::string_view userinfo = rest.substr(0, at);
    rest = rest.substr(at + 1);
    if (const size_t colon = userinfo.find(':'); colon != std::string_view::npos) {
      options.user = std::string(userinfo.substr(0, colon));
      options.password = std::string(userinfo.substr(colon + 1));
    } else {
      options.user = std::string(userinfo);
    }
  }
  if (const size_t slash = rest.find('/'); slash != std::string_view::npos) {
    std::string_view db = rest.substr(slash + 1);
    rest = rest.substr(0, slash);
    if (!db.empty()) {
      auto [ptr, ec] = std::from_chars(db.data(), db.data() + db.size(), options.db);
      if (ec != std::errc() || ptr != db.data() + db.size() || options.db < 0 || options.db > 15) {
        return absl::InvalidArgumentError("redis URL: database must be 0..15");
      }
    }
  }
  if (rest.empty()) return absl::InvalidArgumentError("redis URL: host missing");
  if (rest.find(':') == std::string_view::npos || (rest.front() == '[' && rest.back() == ']')) {
    options.host = std::string(rest);
  } else {
    std::string host;
    if (!SplitHostPort(rest, &host, &options.port) || options.port == 0) {
      return absl::InvalidArgumentError("redis URL: bad host:port");
    }
    options.host = host;
  }
  if (options.host.size() > 2 && options.host.front() == '[') {
    options.host = options.host.substr(1, options.host.size() - 2);
  }
  return options;
}

Script::Script(std::string source) : source_(std::move(source)) {
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(source_.data()), source_.size(), digest);
  sha_ = HexEncode(std::string_view(reinterpret_cast<const char*>(digest), sizeof(digest)));
}

absl::StatusOr<Reply> ReplyOrError(Reply reply) {
  if (reply.is_error()) return ErrorReplyToStatus(reply.str());
  return reply;
}

Args EvalShaCommand(const Script& script, const Args& keys, const Args& args) {
  Args command;
  command.reserve(3 + keys.size() + args.size());
  command.push_back("EVALSHA");
  command.push_back(script.sha());
  command.push_back(std::to_string(keys.size()));
  command.insert(command.end(), keys.begin(), keys.end());
  command.insert(command.end(), args.begin(), args.end());
  return command;
}

bool IsReadOnlyCommand(const Args& args) {
  static constexpr std::string_view kReads[] = {
      "EXISTS",        "GET",     "HEXISTS",   "HGET",
      "HGETALL",       "HLEN",    "HMGET",     "LINDEX",
      "LLEN",          "LRANGE",  "MGET",      "PING",
      "PTTL",          "SCARD",   "SCAN",      "SISMEMBER",
      "SMEMBERS",      "STRLEN",  "TTL",       "TYPE",
      "XINFO",         "XLEN",    "XPENDING",  "XRANGE",
      "XREVRANGE",     "ZCARD",   "ZCOUNT",    "ZRANGE",
      "ZRANGEBYSCORE", "ZRANK",   "ZREVRANGE", "ZREVRANGEBYSCORE",
      "ZSCORE",        "ZMSCORE", "SMISMEMBER"};
  if (args.empty()) return false;
  std::string name = args.front();
  for (char& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return std::find(std::begin(kReads), std::end(kReads), name) != std::end(kReads);
}

absl::StatusOr<std::string> AsString(absl::StatusOr<Reply> reply) {
  RETURN_IF_ERROR(reply);
  if (reply->is_nil()) return absl::NotFoundError("not found");
  if (reply->type() != Reply::Type::kString && reply->type() != Reply::Type::kStatus) {
    return absl::InternalError("redis: expected a string reply");
  }
  return std::move(reply->mutable_str());
}

absl::StatusOr<int64_t> AsInteger(absl::StatusOr<Reply> reply) {
  RETURN_IF_ERROR(reply);
  if (!reply->is_integer()) return absl::InternalError("redis: expected an integer reply");
  return reply->integer();
}

}  // namespace cityhub::infra::redis
