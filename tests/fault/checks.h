#pragma once

// What every fault test checks afterwards, and the report it files.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cityhub/events/v1/events.pb.h"
#include "infra/redis/client.h"
#include "tests/harness/api.h"

namespace cityhub::testing {

// A valid pothole report, spread over the city by `n`.
nlohmann::json PotholeReport(int n);

// Every event in one stream, parsed.
std::vector<cityhub::events::v1::Event> ReadStream(infra::redis::Client& redis,
                                                   const std::string& stream);

// The outbox invariant over everything stored (listed through the API as `admin`): every
// request has exactly one creation event in requests:events, and every creation event names a
// stored request. Fails the test (EXPECT) where it does not hold; returns how many requests it
// checked.
size_t ExpectOutboxInvariant(infra::redis::Client& redis, const Api& api, const std::string& admin);

}  // namespace cityhub::testing
