#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

// Redis Sentinel discovery: which server is the primary of a named group right now.
namespace cityhub::infra::redis {

struct Options;

struct Endpoint {
  std::string host;
  int port = 0;
  bool operator==(const Endpoint&) const = default;
};

struct SentinelOptions {
  // Asked in turn until one names a primary that confirms it is one.
  std::vector<Endpoint> sentinels;
  // The group's name in the sentinels' configuration (`sentinel monitor <name> ...`).
  std::string master_name;
  // For sentinels with `requirepass` / ACL users; empty: no AUTH.
  std::string user;
  std::string password;
  // Connect and reply timeout for each sentinel and for the ROLE check.
  std::chrono::milliseconds timeout{500};
};

// Parses "host:port,host:port" (IPv6 as [addr]:port); at most 16 entries.
absl::StatusOr<std::vector<Endpoint>> ParseSentinelList(std::string_view list);

// Finds the primary through the sentinels and caches it until a client reports a problem.
// Thread-safe. Shared by every connection of a Client/AsyncClient via Options::sentinel.
//
// The sentinels are asked `SENTINEL get-master-addr-by-name` in turn; the first address that
// answers `ROLE` with "master" (reached with the Redis credentials of the caller's Options)
// wins. A sentinel that is down, partitioned or stale (its candidate is a replica) is skipped.
class Sentinel final {
 public:
  explicit Sentinel(SentinelOptions options);

  // The primary: the cached one, or a fresh lookup after Invalidate() (or the first call).
  // UNAVAILABLE when no sentinel names a reachable primary (e.g. during a failover).
  absl::StatusOr<Endpoint> Primary(const Options& redis);

  // Forgets the cached primary: the next Primary() asks the sentinels again. Called by the
  // clients on a connection error, a failed connect and a READONLY reply.
  void Invalidate();

  // Changes each time Primary() returns a different endpoint than before: connections made
  // under an older epoch point at a former primary and are dropped.
  uint64_t epoch() const;

  const SentinelOptions& options() const { return options_; }

 private:
  absl::StatusOr<Endpoint> Ask(const Endpoint& sentinel) const;
  bool IsPrimary(const Endpoint& candidate, const Options& redis) const;

  const SentinelOptions options_;
  mutable std::mutex mu_;
  // Serializes lookups so that a burst of failing connections asks the sentinels once.
  std::mutex lookup_mu_;
  bool valid_ = false;
  Endpoint primary_;
  uint64_t epoch_ = 0;
};

}  // namespace cityhub::infra::redis
