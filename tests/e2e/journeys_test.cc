// The resident's journeys end to end, through the gateway only, over real HTTP: the whole stack
// (Redis, the three services, the gateway, an SMTP sink, a push receiver) started by the harness.
// Each journey is one test; they share the stack but not their accounts.
#include <algorithm>
#include <set>
#include <tuple>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "infra/redis/client.h"
#include "tests/harness/api.h"
#include "tests/harness/images.h"
#include "tests/harness/stack.h"

namespace cityhub::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using json = nlohmann::json;
using namespace std::chrono_literals;

std::string FormOf(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string out;
  for (const auto& [k, v] : fields) {
    out += out.empty() ? "" : "&";
    for (const std::string* part : {&k, &v}) {
      for (unsigned char c : *part) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.') {
          out += static_cast<char>(c);
        } else {
          char hex[4];
          std::snprintf(hex, sizeof(hex), "%%%02X", c);
          out += hex;
        }
      }
      if (part == &k) out += '=';
    }
  }
  return out;
}

class Journeys : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    Stack::Options options;
    options.env = {{"CITYHUB_SSE_HEARTBEAT", "1s"},
                   {"CITYHUB_RATE_LIMIT_SIGN_IN", "500/min,burst=100"},
                   {"CITYHUB_RATE_LIMIT_CREATE", "500/min,burst=100"},
                   {"CITYHUB_RATE_LIMIT_WRITE", "500/min,burst=100"}};
    stack_ = new Stack(options);
    api_ = new Api(stack_->gateway_url());
    admin_ = api_->SignIn(stack_->admin_email(), stack_->admin_password());
    operator_ = api_->NewOperator(stack_->smtp(), "tiefbau@bielefeld.de", {"roads"}, admin_);
  }
  static void TearDownTestSuite() {
    delete api_;
    delete stack_;
  }

  static Api::Result Transition(const std::string& id, const std::string& status,
                                const std::string& public_note = "",
                                const std::string& internal_note = "") {
    return api_->Call(
        "POST", "/v1/requests/" + id + ":transition",
        {{"status", status}, {"public_note", public_note}, {"internal_note", internal_note}},
        operator_);
  }
  // Mails to `email` so far, as decoded text.
  static std::vector<std::string> MailsTo(const std::string& email) {
    std::vector<std::string> out;
    for (const auto& mail : stack_->smtp().Mails()) {
      if (mail.find("X-Sink-Rcpt: " + email) != std::string::npos) out.push_back(MailText(mail));
    }
    return out;
  }
  static std::vector<json> PushesTo(const std::string& push_token) {
    std::vector<json> out;
    for (const auto& r : stack_->push().received()) {
      auto body = json::parse(r.body, nullptr, false);
      if (!body.is_discarded() && body["message"]["token"] == push_token) out.push_back(body);
    }
    return out;
  }
  static json Inbox(const std::string& token) {
    const auto r = api_->Call("GET", "/v1/notifications?page_size=50", nullptr, token);
    EXPECT_EQ(r.status, 200) << r.raw.body;
    return r.json.value("notifications", json::array());
  }
  static json Pothole(double lat = 52.0211, double lon = 8.5325) {
    return {{"service_code", "pothole"},
            {"lat", lat},
            {"long", lon},
            {"attributes", {{"surface", "road"}}},
            {"description", "Tiefes Schlagloch in der Fahrbahn"}};
  }

  static Stack* stack_;
  static Api* api_;
  static std::string admin_, operator_;
};

Stack* Journeys::stack_ = nullptr;
Api* Journeys::api_ = nullptr;
std::string Journeys::admin_, Journeys::operator_;

// 1. register → verification mail → verify → sign in → catalogue → photo → create with an
//    Idempotency-Key, retry → the request once in "my requests".
TEST_F(Journeys, ARegisteredResidentReportsAPotholeWithAPhotoOnce) {
  const std::string email = "anna@example.de";
  const auto registered = api_->Call("POST", "/v1/accounts",
                                     {{"email", email},
                                      {"password", Api::kPassword},
                                      {"display_name", "Anna"},
                                      {"language", "de"}});
  ASSERT_EQ(registered.status, 201) << registered.raw.body;
  EXPECT_EQ(registered.json["email_verified"], false);
  const std::string mail_token = Api::TokenFromMail(stack_->smtp(), email, "verify-email");
  ASSERT_FALSE(mail_token.empty());
  // Unverified: may sign in, may not file under their name yet.
  const std::string early = api_->SignIn(email, Api::kPassword);
  EXPECT_EQ(api_->Call("POST", "/v1/requests", Pothole(), early).status, 403);
  ASSERT_EQ(api_->Call("POST", "/v1/accounts:verifyEmail", {{"token", mail_token}}).status, 200);
  EXPECT_EQ(api_->Call("POST", "/v1/accounts:verifyEmail", {{"token", mail_token}}).status / 100,
            4);  // single use
  const std::string token = api_->SignIn(email, Api::kPassword);
  EXPECT_EQ(api_->Call("GET", "/v1/me", nullptr, token).json["email_verified"], true);

  const auto catalogue = api_->Call("GET", "/v1/services");
  ASSERT_EQ(catalogue.status, 200);
  bool listed = false;
  for (const auto& s : catalogue.json["services"])
    listed = listed || s["service_code"] == "pothole";
  EXPECT_TRUE(listed);
  const auto pothole = api_->Call("GET", "/v1/services/pothole");
  ASSERT_EQ(pothole.status, 200);
  EXPECT_EQ(pothole.json["attributes"][0]["code"], "surface");

  const auto photo = api_->Raw("POST", "/v1/media", TestJpeg(64, 48, true),
                               {"Content-Type: image/jpeg", "Authorization: Bearer " + token});
  ASSERT_EQ(photo.status, 201) << photo.raw.body;
  const std::string media_id = photo.json["media_id"];
  json body = Pothole();
  body["media_ids"] = {media_id};
  const std::vector<std::string> idem = {"Idempotency-Key: journey-1-create"};
  const auto created = api_->Call("POST", "/v1/requests", body, token, idem);
  ASSERT_EQ(created.status, 201) << created.raw.body;
  const auto retried = api_->Call("POST", "/v1/requests", body, token, idem);
  ASSERT_EQ(retried.status / 100, 2) << retried.raw.body;
  EXPECT_EQ(retried.json["request_id"], created.json["request_id"]);
  const auto mine = api_->Call("GET", "/v1/me/requests", nullptr, token);
  ASSERT_EQ(mine.status, 200);
  ASSERT_EQ(mine.json["requests"].size(), 1u);
  EXPECT_EQ(mine.json["requests"][0]["request_id"], created.json["request_id"]);
  const std::string photo_url = mine.json["requests"][0]["media_urls"][0];
  const auto image = HttpRequest("GET", photo_url);
  EXPECT_EQ(image.status, 200);
  EXPECT_EQ(image.header("content-type"), "image/jpeg");
}

// 2. an operator moves the request along; the resident hears of each change in the inbox, on an
//    open SSE stream, by push and by e-mail, and never sees the internal note.
TEST_F(Journeys, TheResidentHearsOfEveryChangeOnEveryChannelButNeverTheInternalNote) {
  const std::string email = "bernd@example.de";
  const std::string token = api_->NewResident(stack_->smtp(), email, "en");
  const std::string push_token = "fcm-bernd-0000000000000001";
  ASSERT_EQ(api_->Call("POST", "/v1/devices", {{"platform", "android"}, {"push_token", push_token}},
                       token)
                .status,
            201);
  const auto created = api_->Call("POST", "/v1/requests", Pothole(52.022, 8.531), token);
  ASSERT_EQ(created.status, 201);
  const std::string id = created.json["request_id"];
  SseClient stream(stack_->port("gateway"), "/v1/notifications:stream",
                   {"Authorization: Bearer " + token});
  ASSERT_EQ(stream.status(), 200) << stream.head();

  const std::string secret = "INTERN: Kostenstelle 4711";
  ASSERT_EQ(Transition(id, "ACKNOWLEDGED", "", secret).status, 200);
  ASSERT_EQ(Transition(id, "IN_PROGRESS", "The crew is on its way", secret).status, 200);
  ASSERT_EQ(Transition(id, "RESOLVED", "Filled with asphalt", secret).status, 200);

  const auto events = stream.Read(3, 15s);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_THAT(json::parse(events[0].data)["title"].get<std::string>(), HasSubstr("acknowledged"));
  EXPECT_THAT(json::parse(events[1].data)["title"].get<std::string>(), HasSubstr("in progress"));
  EXPECT_EQ(json::parse(events[2].data)["body"], "Filled with asphalt");
  for (const auto& e : events) EXPECT_THAT(e.data, Not(HasSubstr("Kostenstelle")));

  const json inbox = Inbox(token);
  ASSERT_EQ(inbox.size(), 3u);
  EXPECT_EQ(inbox[0]["body"], "Filled with asphalt");  // newest first
  EXPECT_THAT(inbox.dump(), Not(HasSubstr("Kostenstelle")));
  EXPECT_EQ(api_->Call("GET", "/v1/notifications:unreadCount", nullptr, token).json["count"], 3);

  // One push and one mail per change, each with that change's title; none doubled (the
  // counts are read again after both channels have delivered).
  std::multiset<std::string> titles;
  for (const auto& n : inbox) titles.insert(n["title"].get<std::string>());
  ASSERT_TRUE(WaitFor([&] { return PushesTo(push_token).size() >= 3; }, 20s));
  ASSERT_TRUE(
      WaitFor([&] { return MailsTo(email).size() >= 4; }, 20s));  // verification + 3 changes
  const auto pushes = PushesTo(push_token);
  ASSERT_EQ(pushes.size(), 3u);
  std::multiset<std::string> pushed;
  for (const auto& push : pushes) {
    EXPECT_EQ(push["message"]["data"]["request_id"], id);
    EXPECT_THAT(push.dump(), Not(HasSubstr("Kostenstelle")));
    pushed.insert(push["message"]["notification"]["title"].get<std::string>());
  }
  EXPECT_EQ(pushed, titles);
  const auto mails = MailsTo(email);
  ASSERT_EQ(mails.size(), 4u);
  for (const auto& mail : mails) EXPECT_THAT(mail, Not(HasSubstr("Kostenstelle")));
  for (const auto& title : titles) {
    EXPECT_EQ(
        std::count_if(mails.begin(), mails.end(),
                      [&](const std::string& m) { return m.find(title) != std::string::npos; }),
        1)
        << "one mail for \"" << title << "\"";
  }
  EXPECT_TRUE(std::any_of(mails.begin(), mails.end(), [](const std::string& m) {
    return m.find("Filled with asphalt") != std::string::npos;
  }));

  // The resident's own view has the public notes only; staff see the internal one.
  const auto own = api_->Call("GET", "/v1/requests/" + id, nullptr, token);
  EXPECT_EQ(own.json["status"], "RESOLVED");
  EXPECT_EQ(own.json["status_notes"], "Filled with asphalt");
  EXPECT_THAT(own.raw.body, Not(HasSubstr("Kostenstelle")));
  EXPECT_THAT(api_->Call("GET", "/v1/requests/" + id, nullptr, operator_).raw.body,
              HasSubstr("Kostenstelle"));
}

// 3. a second resident finds the request near them and among duplicate suggestions, follows it
//    and is told of the next change, on the channels they chose.
TEST_F(Journeys, ANeighbourFindsFollowsAndIsNotified) {
  const std::string reporter = api_->NewResident(stack_->smtp(), "carla@example.de", "de");
  const auto created = api_->Call("POST", "/v1/requests", Pothole(52.0305, 8.5402), reporter);
  ASSERT_EQ(created.status, 201);
  const std::string id = created.json["request_id"];

  const std::string email = "dieter@example.de";
  const std::string neighbour = api_->NewResident(stack_->smtp(), email, "de");
  const auto near =
      api_->Call("GET", "/v1/requests?lat=52.0307&long=8.5405&radius_m=200", nullptr, neighbour);
  ASSERT_EQ(near.status, 200) << near.raw.body;
  bool found = false;
  for (const auto& r : near.json["requests"]) found = found || r["request_id"] == id;
  EXPECT_TRUE(found);
  const auto duplicates = api_->Call(
      "GET", "/v1/requests:suggestDuplicates?service_code=pothole&lat=52.0306&long=8.5403", nullptr,
      neighbour);
  ASSERT_EQ(duplicates.status, 200) << duplicates.raw.body;
  ASSERT_GE(duplicates.json["requests"].size(), 1u);
  EXPECT_EQ(duplicates.json["requests"][0]["request_id"], id);
  // Instead of filing a duplicate, the neighbour follows, without e-mails for followed requests.
  auto prefs = api_->Call("GET", "/v1/me/notificationPreferences", nullptr, neighbour).json;
  prefs["email"]["followed_requests"] = false;
  ASSERT_EQ(api_->Call("PUT", "/v1/me/notificationPreferences", prefs, neighbour).status, 200);
  ASSERT_EQ(api_->Call("POST", "/v1/requests/" + id + ":follow", json::object(), neighbour).status,
            200);
  EXPECT_EQ(api_->Call("GET", "/v1/requests/" + id, nullptr, neighbour).json["following"], true);

  ASSERT_EQ(Transition(id, "ACKNOWLEDGED", "Wir schauen es uns an").status, 200);
  json inbox;
  ASSERT_TRUE(WaitFor([&] { return (inbox = Inbox(neighbour)).size() == 1; }, 15s));
  EXPECT_EQ(inbox[0]["kind"], "KIND_FOLLOWED_REQUEST_STATUS");
  EXPECT_EQ(inbox[0]["request_id"], id);
  EXPECT_EQ(inbox[0]["body"], "Wir schauen es uns an");
  for (const auto& d : inbox[0]["deliveries"]) EXPECT_NE(d["channel"], "CHANNEL_EMAIL");
  // The reporter heard of it too (own request, every channel on).
  ASSERT_TRUE(WaitFor([&] { return Inbox(reporter).size() == 1; }, 15s));
  ASSERT_TRUE(WaitFor([&] { return MailsTo("carla@example.de").size() >= 2; }, 15s));
  EXPECT_EQ(MailsTo(email).size(), 1u);  // only the verification mail
}

// 4. refresh-token rotation and reuse detection over HTTP; sign-out everywhere.
TEST_F(Journeys, RefreshTokensRotateReuseRevokesAndSignOutEverywhereEndsAllSessions) {
  const std::string email = "emil@example.de";
  std::string refresh;
  api_->NewResident(stack_->smtp(), email, "de", &refresh);
  const auto rotated = api_->Call("POST", "/v1/sessions:refresh", {{"refresh_token", refresh}});
  ASSERT_EQ(rotated.status, 200) << rotated.raw.body;
  const std::string next = rotated.json["refresh_token"];
  EXPECT_NE(next, refresh);
  EXPECT_EQ(api_->Call("GET", "/v1/me", nullptr, rotated.json["access_token"]).status, 200);
  // The spent token comes back: someone copied it. The whole family is revoked.
  EXPECT_EQ(api_->Call("POST", "/v1/sessions:refresh", {{"refresh_token", refresh}}).status, 401);
  EXPECT_EQ(api_->Call("POST", "/v1/sessions:refresh", {{"refresh_token", next}}).status, 401);

  std::string phone, laptop;
  const std::string access = api_->SignIn(email, Api::kPassword, &phone);
  api_->SignIn(email, Api::kPassword, &laptop);
  ASSERT_EQ(api_->Call("POST", "/v1/sessions:signOutEverywhere", json::object(), access).status,
            200);
  EXPECT_EQ(api_->Call("POST", "/v1/sessions:refresh", {{"refresh_token", phone}}).status, 401);
  EXPECT_EQ(api_->Call("POST", "/v1/sessions:refresh", {{"refresh_token", laptop}}).status, 401);
  // Signing in again works.
  std::string fresh;
  api_->SignIn(email, Api::kPassword, &fresh);
  EXPECT_EQ(api_->Call("POST", "/v1/sessions:refresh", {{"refresh_token", fresh}}).status, 200);
}

// 5. privacy: the export holds data from all three services; deletion ends sign-in, leaves the
//    request public without personal data, and empties the inbox.
TEST_F(Journeys, ExportHoldsEverythingAndDeletionErasesThePerson) {
  const std::string email = "frieda@example.de";
  std::string frieda;
  const std::string token = api_->NewResident(stack_->smtp(), email, "de", nullptr, &frieda);
  ASSERT_EQ(api_->Call("PATCH", "/v1/me", {{"phone", "+49 521 12345"}}, token).status, 200);
  ASSERT_EQ(api_->Call("POST", "/v1/devices",
                       {{"platform", "ios"}, {"push_token", "apns-frieda-000000000001"}}, token)
                .status,
            201);
  const auto created = api_->Call("POST", "/v1/requests", Pothole(52.015, 8.52), token);
  ASSERT_EQ(created.status, 201);
  const std::string id = created.json["request_id"];
  ASSERT_EQ(
      api_->Call("POST", "/v1/requests/" + id + "/comments", {{"text", "Es wird größer."}}, token)
          .status,
      201);
  ASSERT_EQ(Transition(id, "ACKNOWLEDGED", "Danke!").status, 200);
  ASSERT_TRUE(WaitFor([&] { return Inbox(token).size() == 1; }, 15s));

  const auto exported = api_->Call("GET", "/v1/me:export", nullptr, token);
  ASSERT_EQ(exported.status, 200) << exported.raw.body;
  const json& e = exported.json;
  EXPECT_EQ(e["accounts"]["account"]["email"], email);
  EXPECT_EQ(e["accounts"]["account"]["phone"], "+49 521 12345");
  ASSERT_EQ(e["requests"]["requests"].size(), 1u);
  EXPECT_EQ(e["requests"]["requests"][0]["request_id"], id);
  EXPECT_EQ(e["requests"]["comments"][0]["text"], "Es wird größer.");
  EXPECT_EQ(e["notifications"]["notifications"].size(), 1u);
  EXPECT_EQ(e["notifications"]["devices"].size(), 1u);
  EXPECT_TRUE(e["notifications"].contains("preferences"));

  EXPECT_EQ(
      api_->Call("POST", "/v1/me:delete", {{"password", "wrong-password-123"}}, token).status / 100,
      4);
  ASSERT_EQ(api_->Call("POST", "/v1/me:delete", {{"password", Api::kPassword}}, token).status, 200);
  EXPECT_EQ(
      api_->Call("POST", "/v1/sessions", {{"email", email}, {"password", Api::kPassword}}).status,
      401);
  // The report stays, as a public record without its reporter (the requests service hears of
  // the deletion through the event stream, so it may take a moment).
  EXPECT_TRUE(WaitFor(
      [&] {
        return api_->Call("GET", "/v1/requests/" + id, nullptr, operator_)
            .json.value("account_id", "x")
            .empty();
      },
      15s));
  const auto record = api_->Call("GET", "/v1/requests/" + id, nullptr, operator_);
  ASSERT_EQ(record.status, 200);
  EXPECT_EQ(record.json.value("account_id", ""), "");
  EXPECT_EQ(record.json["description"], "Tiefes Schlagloch in der Fahrbahn");
  EXPECT_THAT(record.raw.body, Not(HasSubstr(email)));
  const auto in_public = api_->Call("GET", "/v1/requests/" + id);
  ASSERT_EQ(in_public.status, 200);
  EXPECT_EQ(in_public.json["description"], "Tiefes Schlagloch in der Fahrbahn");
  EXPECT_THAT(in_public.raw.body, Not(HasSubstr(email)));
  EXPECT_THAT(in_public.raw.body, Not(HasSubstr("12345")));  // the phone number
  // The inbox is gone (the access token lives on for its few minutes, and finds nothing).
  EXPECT_TRUE(WaitFor([&] { return Inbox(token).empty(); }, 15s));
  EXPECT_EQ(
      api_->Call("GET", "/v1/devices", nullptr, token).json.value("devices", json::array()).size(),
      0u);
  // Nor does any write with it put personal data back (issue 18, item 11).
  const std::string other = api_->Call("POST", "/v1/requests", Pothole(52.016, 8.52), operator_)
                                .json.value("request_id", "");
  for (const auto& [method, path, body] : std::vector<std::tuple<std::string, std::string, json>>{
           {"PATCH", "/v1/me", {{"phone", "+49 521 12345"}}},
           {"POST",
            "/v1/devices",
            {{"platform", "ios"}, {"push_token", "apns-frieda-000000000002"}}},
           {"PUT", "/v1/me/notificationPreferences", {{"inbox", {{"own_requests", true}}}}},
           {"POST", "/v1/requests", Pothole(52.017, 8.52)},
           {"POST", "/v1/requests/" + other + ":follow", json::object()},
           {"POST", "/v1/requests/" + id + "/comments", {{"text", "Noch da."}}}}) {
    const auto refused = api_->Call(method, path, body, token);
    EXPECT_EQ(refused.status, 401) << method << " " << path << ": " << refused.raw.body;
  }
  // Nothing in the services' keyspaces names the account (the gateway's rate-limit bucket per
  // account expires on its own).
  infra::redis::Client redis(stack_->redis().ClientOptions());
  for (const std::string service : {"accounts", "requests", "notifications"}) {
    const auto keys = redis.Command({"KEYS", service + ":*" + frieda + "*"});
    ASSERT_TRUE(keys.ok());
    EXPECT_TRUE(keys->elements().empty()) << keys->elements()[0].str();
  }
  EXPECT_TRUE(redis.Command({"KEYS", "*apns-frieda*"})->elements().empty());
  // The address is free again.
  EXPECT_EQ(api_->Call("POST", "/v1/accounts",
                       {{"email", email},
                        {"password", Api::kPassword},
                        {"display_name", "Frieda"},
                        {"language", "de"}})
                .status,
            201);
}

// 6. an Open311 client posts a request with its api_key and reads its status.
TEST_F(Journeys, AnOpen311ClientPostsAndFollowsTheStatus) {
  const auto key = api_->Call("POST", "/v1/apiKeys", {{"name", "Mängelmelder-App"}}, admin_);
  ASSERT_EQ(key.status, 201) << key.raw.body;
  const std::string base = stack_->gateway_url() + "/open311/v2/";
  const auto posted = HttpRequest("POST", base + "requests.json",
                                  FormOf({{"api_key", key.json["api_key"]},
                                          {"service_code", "pothole"},
                                          {"lat", "52.0199"},
                                          {"long", "8.5311"},
                                          {"attribute[surface]", "pavement"},
                                          {"description", "Gehweg abgesackt"},
                                          {"email", "partner-user@example.org"}}),
                                  {"Content-Type: application/x-www-form-urlencoded"});
  ASSERT_EQ(posted.status, 201) << posted.body;
  const std::string id = json::parse(posted.body)[0]["service_request_id"];
  auto status = [&] {
    return json::parse(HttpRequest("GET", base + "requests/" + id + ".json").body)[0];
  };
  EXPECT_EQ(status()["status"], "open");
  ASSERT_EQ(Transition(id, "ACKNOWLEDGED").status, 200);
  ASSERT_EQ(Transition(id, "RESOLVED", "Gehweg ausgebessert").status, 200);
  const json after = status();
  EXPECT_EQ(after["status"], "closed");
  EXPECT_EQ(after["status_notes"], "Gehweg ausgebessert");
  EXPECT_THAT(after.dump(), Not(HasSubstr("partner-user")));
  const auto xml = HttpRequest("GET", base + "requests/" + id + ".xml");
  EXPECT_THAT(xml.body, HasSubstr("<status>closed</status>"));
}

// Issue 14: staff see which partner filed a request; an operator reroutes it through the
// gateway, and the Open311 view shows the new category.
TEST_F(Journeys, AnOperatorReroutesAPartnersRequestAndOpen311ShowsTheNewCategory) {
  const auto key = api_->Call("POST", "/v1/apiKeys", {{"name", "Stadtplan-App Bielefeld"}}, admin_);
  ASSERT_EQ(key.status, 201) << key.raw.body;
  const std::string base = stack_->gateway_url() + "/open311/v2/";
  const auto posted = HttpRequest("POST", base + "requests.json",
                                  FormOf({{"api_key", key.json["api_key"]},
                                          {"service_code", "pothole"},
                                          {"lat", "52.0205"},
                                          {"long", "8.5315"},
                                          {"attribute[surface]", "road"},
                                          {"description", "Schild umgefahren, kein Loch"}}),
                                  {"Content-Type: application/x-www-form-urlencoded"});
  ASSERT_EQ(posted.status, 201) << posted.body;
  const std::string id = json::parse(posted.body)[0]["service_request_id"];
  const auto seen = api_->Call("GET", "/v1/requests/" + id, nullptr, operator_);
  ASSERT_EQ(seen.status, 200) << seen.raw.body;
  EXPECT_EQ(seen.json["partner_name"], "Stadtplan-App Bielefeld");
  EXPECT_EQ(api_->Call("GET", "/v1/requests/" + id, nullptr, "").json.value("partner_name", ""),
            "");

  const auto moved = api_->Call("POST", "/v1/requests/" + id + ":reroute",
                                {{"service_code", "damaged_sign"},
                                 {"public_note", "Als Schaden am Schild weitergeführt."},
                                 {"internal_note", "Kein Belagschaden"},
                                 {"attributes", {{"problem", "down"}}}},
                                operator_);
  ASSERT_EQ(moved.status, 200) << moved.raw.body;
  EXPECT_EQ(moved.json["service_code"], "damaged_sign");
  const auto same = api_->Call("POST", "/v1/requests/" + id + ":reroute",
                               {{"service_code", "damaged_sign"}}, operator_);
  EXPECT_EQ(same.status, 400) << same.raw.body;
  EXPECT_THAT(same.raw.body, HasSubstr("service_code"));
  const json open311 = json::parse(HttpRequest("GET", base + "requests/" + id + ".json").body)[0];
  EXPECT_EQ(open311["service_code"], "damaged_sign");
  EXPECT_THAT(open311.dump(), Not(HasSubstr("Kein Belagschaden")));
}

}  // namespace
}  // namespace cityhub::testing
