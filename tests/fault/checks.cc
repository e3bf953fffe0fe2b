#include "tests/fault/checks.h"

#include <map>
#include <set>

#include <gtest/gtest.h>

#include "infra/events/events.h"
#include "infra/events/streams.h"

namespace cityhub::testing {

using json = nlohmann::json;

json PotholeReport(int n) {
  return {{"service_code", "pothole"},
          {"lat", 52.0 + (n % 100) * 0.0005},
          {"long", 8.5 + (n % 97) * 0.0005},
          {"attributes", {{"surface", "road"}}},
          {"description", "Schlagloch Nummer " + std::to_string(n)}};
}

std::vector<cityhub::events::v1::Event> ReadStream(infra::redis::Client& redis,
                                                   const std::string& stream) {
  std::vector<cityhub::events::v1::Event> out;
  auto reply = redis.Command({"XRANGE", stream, "-", "+"});
  EXPECT_TRUE(reply.ok()) << reply.status();
  if (!reply.ok()) return out;
  for (const auto& entry : reply->elements()) {
    const auto& fields = entry.elements().at(1).elements();
    for (size_t i = 0; i + 1 < fields.size(); i += 2) {
      if (fields[i].str() != infra::events::kEventField) continue;
      cityhub::events::v1::Event event;
      EXPECT_TRUE(event.ParseFromString(fields[i + 1].str()));
      out.push_back(std::move(event));
    }
  }
  return out;
}

size_t ExpectOutboxInvariant(infra::redis::Client& redis, const Api& api,
                             const std::string& admin) {
  std::map<std::string, int> created_events;
  for (const auto& e : ReadStream(redis, infra::events::kRequestsStream))
    if (e.has_request_created()) ++created_events[e.request_created().request_id()];
  std::set<std::string> stored;
  std::string page_token;
  do {
    const auto page =
        api.Call("GET", "/v1/requests?page_size=100&page_token=" + page_token, nullptr, admin);
    EXPECT_EQ(page.status, 200) << page.raw.body;
    if (page.status != 200) break;
    for (const auto& r : page.json["requests"]) stored.insert(r.value("request_id", ""));
    page_token = page.json.value("next_page_token", "");
  } while (!page_token.empty());
  for (const auto& id : stored) EXPECT_EQ(created_events[id], 1) << "stored " << id;
  for (const auto& [id, count] : created_events)
    EXPECT_TRUE(stored.contains(id)) << "event without its request " << id;
  return stored.size();
}

}  // namespace cityhub::testing
