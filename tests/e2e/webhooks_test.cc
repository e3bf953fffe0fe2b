// Partner webhooks through the gateway, with the binaries' own configuration: internal
// destinations are refused (server-side request forgery), and a receiver on this machine gets
// its events only where the operator allow-listed it (CITYHUB_WEBHOOK_ALLOW_CIDRS).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/harness/api.h"
#include "tests/harness/stack.h"

namespace cityhub::testing {
namespace {

using ::testing::HasSubstr;
using json = nlohmann::json;
using namespace std::chrono_literals;

json Hook(const std::string& url) { return {{"url", url}, {"event_types", {"RequestCreated"}}}; }

// Production settings: no allow list.
TEST(Webhooks, InternalDestinationsAreRefusedWhenRegisteredNamingTheField) {
  Stack stack;
  Api api(stack.gateway_url());
  const std::string admin = api.SignIn(stack.admin_email(), stack.admin_password());
  HttpSink partner;  // on 127.0.0.1
  for (const std::string& url : std::vector<std::string>{
           "http://169.254.169.254/latest/meta-data/", partner.url("/hook"),
           "http://[::ffff:127.0.0.1]:" + std::to_string(stack.redis().port()) + "/",
           "http://redis:6379/"}) {
    const auto r = api.Call("POST", "/v1/webhooks", Hook(url), admin);
    EXPECT_EQ(r.status, 400) << url << ": " << r.raw.body;
    EXPECT_THAT(r.json.value("message", ""), ::testing::StartsWith("url: ")) << url;
  }
  EXPECT_EQ(api.Call("GET", "/v1/webhooks", nullptr, admin).json.value("webhooks", json::array()),
            json::array());
}

// Local development and tests allow-list the loopback receiver explicitly.
TEST(Webhooks, AnAllowListedLocalReceiverGetsItsEvents) {
  Stack::Options options;
  options.env = {{"CITYHUB_WEBHOOK_ALLOW_CIDRS", "127.0.0.1/32"}};
  Stack stack(options);
  Api api(stack.gateway_url());
  const std::string admin = api.SignIn(stack.admin_email(), stack.admin_password());
  HttpSink partner;
  // Still refused: the allow list admits only what it names.
  const auto metadata = api.Call("POST", "/v1/webhooks", Hook("http://169.254.169.254/"), admin);
  EXPECT_EQ(metadata.status, 400) << metadata.raw.body;
  const auto hook = api.Call("POST", "/v1/webhooks", Hook(partner.url("/hook")), admin);
  ASSERT_EQ(hook.status / 100, 2) << hook.raw.body;

  const std::string resident = api.NewResident(stack.smtp(), "partnerhook@example.de");
  const auto created = api.Call("POST", "/v1/requests",
                                {{"service_code", "pothole"},
                                 {"lat", 52.0211},
                                 {"long", 8.5325},
                                 {"attributes", {{"surface", "road"}}},
                                 {"description", "Tiefes Schlagloch in der Fahrbahn"}},
                                resident);
  ASSERT_EQ(created.status, 201) << created.raw.body;
  ASSERT_TRUE(WaitFor([&] { return partner.count() > 0; }, 20s));
  const auto got = partner.received();
  EXPECT_EQ(got[0].headers.at("x-cityhub-event"), "RequestCreated");
  EXPECT_THAT(got[0].body, HasSubstr(created.json["request_id"].get<std::string>()));
}

}  // namespace
}  // namespace cityhub::testing
