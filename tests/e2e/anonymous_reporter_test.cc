// Journey of an anonymous reporter (#14, part C), end to end through the gateway only: the whole
// stack (Redis, the three services, the gateway, the SMTP sink) started by the harness.
//
// Anonymous photos → a report with them and an e-mail address → the double opt-in mail → a mail
// at every status change (unsubscribe link and RFC 8058 headers) → feedback "not fixed" with the
// mailed token → the request reopens → one-click unsubscribe ends the mails. Between the
// status mails, staff reroute it to another department, and the reporter hears of that too.
#include <regex>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/harness/api.h"
#include "tests/harness/images.h"
#include "tests/harness/process.h"
#include "tests/harness/stack.h"

namespace cityhub::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using json = nlohmann::json;
using namespace std::chrono_literals;

class AnonymousReporter : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    Stack::Options options;
    options.env = {{"CITYHUB_RATE_LIMIT_SIGN_IN", "500/min,burst=100"},
                   {"CITYHUB_RATE_LIMIT_WRITE", "500/min,burst=100"}};
    stack_ = new Stack(options);
    api_ = new Api(stack_->gateway_url());
    admin_ = api_->SignIn(stack_->admin_email(), stack_->admin_password());
    operator_ = api_->NewOperator(stack_->smtp(), "tiefbau@bielefeld.de", {"roads"}, admin_);
    parks_operator_ = api_->NewOperator(stack_->smtp(), "gruen@bielefeld.de", {"parks"}, admin_);
  }
  static void TearDownTestSuite() {
    delete api_;
    delete stack_;
  }

  static Api::Result Transition(const std::string& id, const std::string& status,
                                const std::string& public_note, const std::string& by = operator_) {
    return api_->Call(
        "POST", "/v1/requests/" + id + ":transition",
        {{"status", status}, {"public_note", public_note}, {"internal_note", "Kostenstelle 4711"}},
        by);
  }
  // Mails to `email` so far, raw (headers) and decoded (text).
  static std::vector<std::string> RawMailsTo(const std::string& email) {
    std::vector<std::string> out;
    for (const auto& mail : stack_->smtp().Mails()) {
      if (mail.find("X-Sink-Rcpt: " + email) != std::string::npos) out.push_back(mail);
    }
    return out;
  }
  static std::vector<std::string> MailsTo(const std::string& email) {
    std::vector<std::string> out;
    for (const auto& mail : RawMailsTo(email)) out.push_back(MailText(mail));
    return out;
  }
  static std::string TokenAfter(const std::string& text, const std::string& path) {
    std::smatch m;
    const std::regex re(path + "\\?token=([A-Za-z0-9._-]+)");
    return std::regex_search(text, m, re) ? m[1].str() : "";
  }

  static Stack* stack_;
  static Api* api_;
  static std::string admin_, operator_, parks_operator_;
};

Stack* AnonymousReporter::stack_ = nullptr;
Api* AnonymousReporter::api_ = nullptr;
std::string AnonymousReporter::admin_, AnonymousReporter::operator_,
    AnonymousReporter::parks_operator_;

TEST_F(AnonymousReporter, IsKeptInformedGivesFeedbackReopensAndUnsubscribes) {
  const std::string email = "erika.anonym@example.org";
  // Two photos without an account.
  std::vector<std::string> media_ids;
  for (int width : {64, 80}) {
    const auto photo =
        api_->Raw("POST", "/v1/media", TestJpeg(width, 48, true), {"Content-Type: image/jpeg"});
    ASSERT_EQ(photo.status, 201) << photo.raw.body;
    media_ids.push_back(photo.json["media_id"]);
  }
  json body = {{"service_code", "pothole"},
               {"lat", 52.0211},
               {"long", 8.5325},
               {"attributes", {{"surface", "road"}}},
               {"description", "Schlagloch vor der Schule"},
               {"media_ids", media_ids},
               {"language", "en"},
               {"contact", {{"email", email}, {"first_name", "Erika"}}}};
  const auto created = api_->Call("POST", "/v1/requests", body);
  ASSERT_EQ(created.status, 201) << created.raw.body;
  const std::string id = created.json["request_id"];
  EXPECT_EQ(created.json["media_urls"].size(), 2u);
  EXPECT_THAT(created.raw.body, Not(HasSubstr(email)));  // the public view

  // One confirmation mail (double opt-in), in the language of the report.
  ASSERT_TRUE(WaitFor([&] { return MailsTo(email).size() >= 1; }, 20s));
  const std::string confirm =
      TokenAfter(MailsTo(email).at(0), "https://app.example/confirm-contact");
  ASSERT_FALSE(confirm.empty()) << MailsTo(email).at(0);
  EXPECT_THAT(MailsTo(email).at(0), HasSubstr("keep me informed"));
  const auto confirmed = api_->Call("POST", "/v1/requests:confirmContact", {{"token", confirm}});
  ASSERT_EQ(confirmed.status, 200) << confirmed.raw.body;
  EXPECT_EQ(confirmed.json["request_id"], id);
  // Spent: 404, the same answer as an unknown token, which says nothing of the request.
  const auto spent = api_->Call("POST", "/v1/requests:confirmContact", {{"token", confirm}});
  const auto unknown =
      api_->Call("POST", "/v1/requests:confirmContact", {{"token", "01JUNKNOWN.c1.AAAA"}});
  EXPECT_EQ(spent.status, 404);
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(spent.json["message"], unknown.json["message"]);
  EXPECT_EQ(api_->Call("POST", "/v1/requests:confirmContact", {{"token", ""}}).status, 400);

  // A mail at every status change, with its public note and never the internal one.
  ASSERT_EQ(Transition(id, "ACKNOWLEDGED", "We will look at it.").status, 200);
  ASSERT_TRUE(WaitFor([&] { return MailsTo(email).size() >= 2; }, 20s));
  // Rerouted: the roots of a park's tree lifted the road, so the parks department takes it over;
  // the reporter hears of it (the public note, never the internal one), and the roads operator
  // can no longer move it.
  const auto moved =
      api_->Call("POST", "/v1/requests/" + id + ":reroute",
                 {{"service_code", "tree"},
                  {"public_note", "Roots of a park tree: passed to the parks office."},
                  {"internal_note", "Kostenstelle 4711"},
                  {"attributes", {{"problem", "blocking"}}}},
                 operator_);
  ASSERT_EQ(moved.status, 200) << moved.raw.body;
  EXPECT_EQ(moved.json["department"], "parks");
  ASSERT_TRUE(WaitFor([&] { return MailsTo(email).size() >= 3; }, 20s));
  EXPECT_EQ(Transition(id, "IN_PROGRESS", "Not ours any more.").status, 403);
  ASSERT_EQ(Transition(id, "IN_PROGRESS", "Crew is on its way.", parks_operator_).status, 200);
  ASSERT_TRUE(WaitFor([&] { return MailsTo(email).size() >= 4; }, 20s));
  ASSERT_EQ(Transition(id, "RESOLVED", "Roots cut, road filled.", parks_operator_).status, 200);
  ASSERT_TRUE(WaitFor([&] { return MailsTo(email).size() >= 5; }, 20s));
  auto mails = MailsTo(email);
  ASSERT_EQ(mails.size(), 5u);
  EXPECT_THAT(mails[1], HasSubstr("We will look at it."));
  EXPECT_THAT(mails[2], HasSubstr("Roots of a park tree: passed to the parks office."));
  EXPECT_THAT(mails[2], HasSubstr("Tree"));
  EXPECT_THAT(mails[3], HasSubstr("Crew is on its way."));
  EXPECT_THAT(mails[4], HasSubstr("Roots cut, road filled."));
  for (const auto& mail : mails) EXPECT_THAT(mail, Not(HasSubstr("Kostenstelle")));
  for (size_t i = 1; i < mails.size(); ++i) {
    EXPECT_FALSE(TokenAfter(mails[i], "https://app.example/unsubscribe").empty()) << i;
    EXPECT_THAT(RawMailsTo(email)[i],
                HasSubstr("List-Unsubscribe-Post: List-Unsubscribe=One-Click"));
  }
  const std::string feedback = TokenAfter(mails[4], "https://app.example/feedback");
  ASSERT_FALSE(feedback.empty()) << mails[4];

  // Feedback "not fixed" with the mailed token: the request reopens, and the reporter hears so.
  const std::string path = "/v1/requests/" + id + ":feedback";
  EXPECT_EQ(api_->Call("POST", path, {{"fixed", false}, {"rating", 6}, {"token", feedback}}).status,
            400);
  const auto given =
      api_->Call("POST", path,
                 {{"fixed", false}, {"rating", 2}, {"text", "Still a hole."}, {"token", feedback}});
  ASSERT_EQ(given.status, 200) << given.raw.body;
  EXPECT_EQ(api_->Call("POST", path, {{"fixed", true}, {"rating", 5}, {"token", feedback}}).status,
            409);  // once
  const auto staff_view = api_->Call("GET", "/v1/requests/" + id, nullptr, parks_operator_);
  EXPECT_EQ(staff_view.json["status"], "IN_PROGRESS");
  EXPECT_EQ(staff_view.json["feedback"]["rating"], 2);
  EXPECT_EQ(staff_view.json["feedback"]["text"], "Still a hole.");
  const auto public_view = api_->Call("GET", "/v1/requests/" + id);
  EXPECT_EQ(public_view.json["status"], "IN_PROGRESS");
  EXPECT_FALSE(public_view.json.contains("feedback"));
  ASSERT_TRUE(WaitFor([&] { return MailsTo(email).size() >= 6; }, 20s));
  EXPECT_THAT(MailsTo(email).at(5), HasSubstr("in progress"));

  // One click from the mail client (RFC 8058): the URL of List-Unsubscribe, POSTed as a form.
  std::smatch m;
  const std::string raw = RawMailsTo(email).at(5);
  ASSERT_TRUE(std::regex_search(
      raw, m,
      std::regex("List-Unsubscribe: <https://app.example(/v1/requests:unsubscribeOneClick"
                 "\\?token=[A-Za-z0-9._-]+)>")));
  const auto stopped = api_->Raw("POST", m[1].str(), "List-Unsubscribe=One-Click",
                                 {"Content-Type: application/x-www-form-urlencoded"});
  ASSERT_EQ(stopped.status, 200) << stopped.raw.body;
  EXPECT_EQ(stopped.json["subscribed"], false);
  EXPECT_EQ(api_->Raw("POST", m[1].str(), "List-Unsubscribe=One-Click", {}).status, 404);
  EXPECT_EQ(api_->Call("GET", "/v1/requests/" + id, nullptr, parks_operator_)
                .json.value("contact_confirmed", false),
            false);
  // No more mails: the next change is mailed to nobody (a bounded wait for what must not come).
  ASSERT_EQ(Transition(id, "RESOLVED", "Now really filled.", parks_operator_).status, 200);
  EXPECT_FALSE(WaitFor([&] { return MailsTo(email).size() >= 7; }, 3s));
}

}  // namespace
}  // namespace cityhub::testing
