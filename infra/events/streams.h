#pragma once

// The names of the services' event streams. A stream is a contract between its producer and its
// consumers (like the event messages in proto/), and services never include each other, so the
// names are spelled once here; each producer's keys.h names its own stream from this header.
namespace cityhub::infra::events {

// STREAM: the accounts service's domain events (consumed by requests and notifications).
inline constexpr char kAccountsStream[] = "accounts:events";
// STREAM: the requests service's domain events (consumed by notifications).
inline constexpr char kRequestsStream[] = "requests:events";

}  // namespace cityhub::infra::events
