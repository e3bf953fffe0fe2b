// Issue #14 B end to end, through the gateway only, over real HTTP, with the whole stack and a
// real local webhook receiver: staff hide a photo and redact a description and neither can be
// read anywhere afterwards; the reporter edits and withdraws a report and a follower hears of
// it; the bad input of every new route is 400 naming the field.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/harness/api.h"
#include "tests/harness/images.h"
#include "tests/harness/stack.h"

namespace cityhub::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;
using json = nlohmann::json;
using namespace std::chrono_literals;

constexpr char kSecret[] = "Herr Mustermann aus Nr. 12 (Tel. 0521 445566) war es";

class ModerationJourneys : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    Stack::Options options;
    options.env = {{"CITYHUB_WEBHOOK_ALLOW_CIDRS", "127.0.0.1/32"},
                   {"CITYHUB_RATE_LIMIT_SIGN_IN", "500/min,burst=100"},
                   {"CITYHUB_RATE_LIMIT_CREATE", "500/min,burst=100"},
                   {"CITYHUB_RATE_LIMIT_WRITE", "5000/min,burst=1000"}};
    stack_ = new Stack(options);
    api_ = new Api(stack_->gateway_url());
    partner_ = new HttpSink();
    admin_ = api_->SignIn(stack_->admin_email(), stack_->admin_password());
    operator_ = api_->NewOperator(stack_->smtp(), "strassen@bielefeld.de", {"roads"}, admin_);
    const auto hook =
        api_->Call("POST", "/v1/webhooks",
                   {{"url", partner_->url("/hook")},
                    {"event_types", {"RequestCreated", "RequestStatusChanged", "CommentAdded"}}},
                   admin_);
    ASSERT_EQ(hook.status / 100, 2) << hook.raw.body;
  }
  static void TearDownTestSuite() {
    delete partner_;
    delete api_;
    delete stack_;
  }
  static std::string Photo(const std::string& token, int size) {
    const auto r = api_->Raw("POST", "/v1/media", TestPng(size, size, false),
                             {"Content-Type: image/png", "Authorization: Bearer " + token});
    EXPECT_EQ(r.status, 201) << r.raw.body;
    return r.json.value("media_id", "");
  }
  static json Pothole(double lat = 52.0211, double lon = 8.5325) {
    return {{"service_code", "pothole"},
            {"lat", lat},
            {"long", lon},
            {"attributes", {{"surface", "road"}}},
            {"description", "Tiefes Schlagloch in der Fahrbahn"}};
  }
  static json Inbox(const std::string& token) {
    const auto r = api_->Call("GET", "/v1/notifications?page_size=50", nullptr, token);
    EXPECT_EQ(r.status, 200) << r.raw.body;
    return r.json.value("notifications", json::array());
  }
  static void ExpectField(const Api::Result& r, const std::string& field) {
    EXPECT_EQ(r.status, 400) << field << ": " << r.raw.body;
    EXPECT_THAT(r.json.value("message", ""), HasSubstr(field + ":")) << r.raw.body;
  }

  static Stack* stack_;
  static Api* api_;
  static HttpSink* partner_;
  static std::string admin_, operator_;
};

Stack* ModerationJourneys::stack_ = nullptr;
Api* ModerationJourneys::api_ = nullptr;
HttpSink* ModerationJourneys::partner_ = nullptr;
std::string ModerationJourneys::admin_, ModerationJourneys::operator_;

// (2) staff hide a photo and redact a description: neither can be read anywhere afterwards.
TEST_F(ModerationJourneys, AHiddenPhotoAndARedactedDescriptionAreGoneFromEveryView) {
  const std::string resident = api_->NewResident(stack_->smtp(), "erika@example.de");
  const std::string keep = Photo(resident, 20), hide = Photo(resident, 28);
  json body = Pothole(52.0251, 8.5351);
  body["media_ids"] = {keep, hide};
  body["description"] = kSecret;
  const auto created = api_->Call("POST", "/v1/requests", body, resident);
  ASSERT_EQ(created.status, 201) << created.raw.body;
  const std::string id = created.json["request_id"];
  const std::string base = stack_->gateway_url();
  const std::string hidden_url = base + "/v1/media/" + hide;
  ASSERT_EQ(HttpRequest("GET", hidden_url).status, 200);

  // Only staff of the department moderate.
  const json moderate = {{"hide_media_ids", {hide}},
                         {"description", "Schlagloch (Beschreibung von der Redaktion gekürzt)"},
                         {"reason", "Name und Telefonnummer eines Dritten"}};
  const std::string path = "/v1/requests/" + id + ":moderate";
  EXPECT_EQ(api_->Call("POST", path, moderate).status, 401);
  EXPECT_EQ(api_->Call("POST", path, moderate, resident).status, 403);
  const auto done = api_->Call("POST", path, moderate, operator_);
  ASSERT_EQ(done.status, 200) << done.raw.body;
  ASSERT_EQ(done.json["moderation"].size(), 1u);
  EXPECT_EQ(done.json["moderation"][0]["reason"], "Name und Telefonnummer eines Dritten");

  // A later event goes to the partner's webhook.
  ASSERT_EQ(
      api_->Call("POST", "/v1/requests/" + id + ":transition",
                 {{"status", "ACKNOWLEDGED"}, {"public_note", "Wir kommen vorbei"}}, operator_)
          .status,
      200);
  ASSERT_TRUE(WaitFor(
      [&] {
        for (const auto& r : partner_->received()) {
          if (r.body.find(id) != std::string::npos &&
              r.headers.at("x-cityhub-event") == "RequestStatusChanged")
            return true;
        }
        return false;
      },
      20s));

  const std::vector<std::string> views = {
      base + "/v1/requests/" + id,
      base + "/v1/requests?page_size=100",
      base + "/open311/v2/requests/" + id + ".json",
      base + "/open311/v2/requests/" + id + ".xml",
      base + "/open311/v2/requests.json",
      base + "/open311/v2/requests.xml",
  };
  for (const auto& url : views) {
    for (const std::string& token : {std::string(), resident}) {
      std::vector<std::string> headers;
      if (!token.empty()) headers.push_back("Authorization: Bearer " + token);
      const auto seen = HttpRequest("GET", url, "", headers);
      ASSERT_EQ(seen.status, 200) << url << ": " << seen.body;
      EXPECT_THAT(seen.body, HasSubstr(id)) << url;            // the request is there ...
      EXPECT_THAT(seen.body, Not(HasSubstr(kSecret))) << url;  // ... without the old text
      EXPECT_THAT(seen.body, Not(HasSubstr(hide))) << url;     // ... and the hidden photo
    }
  }
  const auto mine = api_->Call("GET", "/v1/me/requests", nullptr, resident);
  EXPECT_THAT(mine.raw.body, Not(HasSubstr(hide)));
  EXPECT_THAT(mine.raw.body, Not(HasSubstr(kSecret)));
  EXPECT_THAT(mine.raw.body, HasSubstr(keep));
  for (const auto& r : partner_->received()) {
    if (r.body.find(id) == std::string::npos) continue;
    EXPECT_THAT(r.body, Not(HasSubstr(kSecret)));
    EXPECT_THAT(r.body, Not(HasSubstr(hide)));
  }

  // The photo itself: 404 for everyone but staff; the other one stays, revalidated by caches.
  EXPECT_EQ(HttpRequest("GET", hidden_url).status, 404);
  EXPECT_EQ(HttpRequest("GET", hidden_url, "", {"Authorization: Bearer " + resident}).status, 404);
  EXPECT_EQ(HttpRequest("GET", hidden_url, "", {"Authorization: Bearer " + operator_}).status, 200);
  const auto kept = HttpRequest("GET", base + "/v1/media/" + keep);
  EXPECT_EQ(kept.status, 200);
  EXPECT_EQ(kept.header("cache-control"), "no-cache");
  // A cache revalidating the hidden photo hears 404, not 304.
  EXPECT_EQ(HttpRequest("GET", hidden_url, "", {"If-None-Match: \"" + hide + "\""}).status, 404);

  // Bad input names the field; an unknown comment is 404.
  ExpectField(api_->Call("POST", path,
                         {{"hide_media_ids", {std::string(64, 'a')}}, {"reason", "x"}}, operator_),
              "hide_media_ids");
  ExpectField(api_->Call("POST", path, {{"description", "x"}}, operator_), "reason");
  ExpectField(api_->Call("POST", path, {{"description", "x"}, {"reason", std::string(501, 'r')}},
                         operator_),
              "reason");
  const auto comment =
      api_->Call("POST", "/v1/requests/" + id + "/comments", {{"text", "Idiot!"}}, resident);
  ASSERT_EQ(comment.status, 201) << comment.raw.body;
  const std::string cpath =
      "/v1/requests/" + id + "/comments/" + comment.json["comment_id"].get<std::string>() + ":hide";
  ExpectField(api_->Call("POST", cpath, {{"reason", ""}}, operator_), "reason");
  EXPECT_EQ(api_->Call("POST", cpath, {{"reason", "Beleidigung"}}, resident).status, 403);
  EXPECT_EQ(api_->Call("POST", "/v1/requests/" + id + "/comments/01JAAAAAAAAAAAAAAAAAAAAAAA:hide",
                       {{"reason", "x"}}, operator_)
                .status,
            404);
  ASSERT_EQ(api_->Call("POST", cpath, {{"reason", "Beleidigung"}}, operator_).status, 200);
  const auto comments = api_->Call("GET", "/v1/requests/" + id + "/comments");
  EXPECT_THAT(comments.raw.body, Not(HasSubstr("Idiot")));
  EXPECT_EQ(comments.json.value("comments", json::array()).size(), 0u);

  // A clerk's comment that named a neighbour by mistake reached the reporter's inbox; once
  // hidden, the inbox entry no longer holds the text.
  const auto slip = api_->Call("POST", "/v1/requests/" + id + "/comments",
                               {{"text", "Herr Meier aus Nr. 12 hat auch angerufen."}}, operator_);
  ASSERT_EQ(slip.status, 201) << slip.raw.body;
  const auto inbox_has = [&](const std::string& text) {
    return api_->Call("GET", "/v1/notifications", nullptr, resident).raw.body.find(text) !=
           std::string::npos;
  };
  ASSERT_TRUE(WaitFor([&] { return inbox_has("Herr Meier"); }, 20s));
  ASSERT_EQ(api_->Call("POST",
                       "/v1/requests/" + id + "/comments/" +
                           slip.json["comment_id"].get<std::string>() + ":hide",
                       {{"reason", "Name eines Nachbarn"}}, operator_)
                .status,
            200);
  ASSERT_TRUE(WaitFor([&] { return !inbox_has("Herr Meier"); }, 20s));
  EXPECT_TRUE(inbox_has("von der Stadt entfernt"));
}

// (3) the reporter edits and then withdraws a report; a follower hears of the withdrawal.
TEST_F(ModerationJourneys, TheReporterEditsThenWithdrawsAndAFollowerHearsOfIt) {
  const std::string reporter = api_->NewResident(stack_->smtp(), "fritz@example.de");
  const std::string follower = api_->NewResident(stack_->smtp(), "greta@example.de");
  const auto created = api_->Call("POST", "/v1/requests", Pothole(52.0222, 8.5333), reporter);
  ASSERT_EQ(created.status, 201) << created.raw.body;
  const std::string id = created.json["request_id"];
  const std::string path = "/v1/requests/" + id;
  ASSERT_EQ(api_->Call("POST", path + ":follow", json::object(), follower).status, 200);

  // Only the owner edits; absent fields stay.
  const json edit = {{"description", "Zwei Schlaglöcher"}, {"lat", 52.0233}, {"long", 8.5344}};
  EXPECT_EQ(api_->Call("PATCH", path, edit).status, 401);
  EXPECT_EQ(api_->Call("PATCH", path, edit, follower).status, 403);
  EXPECT_EQ(api_->Call("PATCH", path, edit, operator_).status, 403);
  const auto edited = api_->Call("PATCH", path, edit, reporter);
  ASSERT_EQ(edited.status, 200) << edited.raw.body;
  EXPECT_EQ(edited.json["description"], "Zwei Schlaglöcher");
  EXPECT_EQ(edited.json["attributes"], created.json["attributes"]);
  const auto near = api_->Call("GET", "/v1/requests?lat=52.0233&long=8.5344&radius_m=30");
  EXPECT_THAT(near.raw.body, HasSubstr(id));
  ExpectField(api_->Call("PATCH", path, {{"lat", 48.1}, {"long", 11.5}}, reporter), "lat");
  ExpectField(api_->Call("PATCH", path, {{"attributes", {{"surface", "lava"}}}}, reporter),
              "attributes.surface");
  ExpectField(api_->Call("PATCH", path, {{"address", std::string(251, 'a')}}, reporter), "address");

  EXPECT_EQ(api_->Call("POST", path + ":withdraw", json::object(), follower).status, 403);
  const auto withdrawn = api_->Call("POST", path + ":withdraw", json::object(), reporter);
  ASSERT_EQ(withdrawn.status, 200) << withdrawn.raw.body;
  EXPECT_EQ(withdrawn.json["status"], "CLOSED");
  EXPECT_EQ(withdrawn.json["status_notes"], "withdrawn by the reporter");
  json inbox;
  ASSERT_TRUE(WaitFor([&] { return !(inbox = Inbox(follower)).empty(); }, 15s));
  EXPECT_EQ(inbox[0]["kind"], "KIND_FOLLOWED_REQUEST_STATUS");
  EXPECT_EQ(inbox[0]["request_id"], id);
  EXPECT_EQ(inbox[0]["body"], "withdrawn by the reporter");
  // Closed now: FAILED_PRECONDITION for both (code 9; HTTP 400 as the gateway maps it).
  for (const auto& late : {api_->Call("PATCH", path, edit, reporter),
                           api_->Call("POST", path + ":withdraw", json::object(), reporter)}) {
    EXPECT_EQ(late.status, 400) << late.raw.body;
    EXPECT_EQ(late.json.value("code", 0), 9) << late.raw.body;
    EXPECT_THAT(late.json.value("message", ""), HasSubstr("only while SUBMITTED"));
  }
}

TEST_F(ModerationJourneys, StaffKeepResponseTemplatesPerDepartmentUpTo200) {
  const std::string citizen = api_->NewResident(stack_->smtp(), "hanna@example.de");
  const json t = {{"department", "roads"},
                  {"title", "Ausbesserung geplant"},
                  {"text_de", "Die Ausbesserung ist eingeplant."},
                  {"text_en", "The repair is scheduled."}};
  EXPECT_EQ(api_->Call("POST", "/v1/responseTemplates", t, citizen).status, 403);
  EXPECT_EQ(api_->Call("GET", "/v1/responseTemplates", nullptr, citizen).status, 403);
  EXPECT_EQ(api_->Call("GET", "/v1/responseTemplates").status, 401);
  json other = t;
  other["department"] = "parks";
  EXPECT_EQ(api_->Call("POST", "/v1/responseTemplates", other, operator_).status, 403);
  const auto created = api_->Call("POST", "/v1/responseTemplates", t, operator_);
  ASSERT_EQ(created.status, 201) << created.raw.body;
  const std::string tpath =
      "/v1/responseTemplates/" + created.json["template_id"].get<std::string>();
  const auto patched = api_->Call("PATCH", tpath, {{"title", "Reparatur geplant"}}, operator_);
  ASSERT_EQ(patched.status, 200) << patched.raw.body;
  EXPECT_EQ(patched.json["title"], "Reparatur geplant");
  EXPECT_EQ(patched.json["text_en"], "The repair is scheduled.");
  const auto listed = api_->Call("GET", "/v1/responseTemplates", nullptr, operator_);
  ASSERT_EQ(listed.status, 200);
  EXPECT_EQ(listed.json["templates"].size(), 1u);

  json bad = t;
  bad["title"] = std::string(121, 't');
  ExpectField(api_->Call("POST", "/v1/responseTemplates", bad, operator_), "title");
  bad = t;
  bad["text_de"] = std::string(2001, 't');
  ExpectField(api_->Call("POST", "/v1/responseTemplates", bad, operator_), "text_de");
  ExpectField(api_->Call("PATCH", tpath, {{"title", "zwei\nZeilen"}}, operator_), "title");
  const std::string unknown = "/v1/responseTemplates/01JAAAAAAAAAAAAAAAAAAAAAAA";
  EXPECT_EQ(api_->Call("PATCH", unknown, {{"title", "x"}}, operator_).status, 404);
  EXPECT_EQ(api_->Call("DELETE", unknown, nullptr, operator_).status, 404);

  for (int i = 1; i < 200; ++i) {
    json n = t;
    n["title"] = "Vorlage " + std::to_string(i);
    ASSERT_EQ(api_->Call("POST", "/v1/responseTemplates", n, operator_).status, 201) << i;
  }
  const auto full = api_->Call("POST", "/v1/responseTemplates", t, operator_);
  EXPECT_EQ(full.status, 400) << full.raw.body;  // FAILED_PRECONDITION (code 9)
  EXPECT_EQ(full.json.value("code", 0), 9) << full.raw.body;
  EXPECT_THAT(full.json.value("message", ""), StartsWith("department:"));
  ASSERT_EQ(api_->Call("DELETE", tpath, nullptr, operator_).status, 200);
  EXPECT_EQ(api_->Call("POST", "/v1/responseTemplates", t, operator_).status, 201);

  // The staff member's export holds what they wrote.
  const auto exported = api_->Call("GET", "/v1/me:export", nullptr, operator_);
  ASSERT_EQ(exported.status, 200) << exported.raw.body;
  EXPECT_EQ(exported.json["requests"]["response_templates"].size(), 200u);
}

}  // namespace
}  // namespace cityhub::testing
