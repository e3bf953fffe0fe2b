#include "services/notifications/templates.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace cityhub::notifications {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
namespace rv1 = cityhub::requests::v1;

cityhub::events::v1::RequestStatusChanged Resolved() {
  cityhub::events::v1::RequestStatusChanged e;
  e.set_request_id("01JR");
  e.set_service_name_de("Schlagloch");
  e.set_service_name_en("Pothole");
  e.set_to_status(rv1::RESOLVED);
  e.set_public_note("Das Loch ist verfüllt.");
  return e;
}

TEST(Templates, SpeakTheRecipientsLanguage) {
  const Text de = StatusChangedText(Resolved(), true, "de");
  EXPECT_EQ(de.title, "Ihre Meldung „Schlagloch“ ist erledigt");
  EXPECT_EQ(de.body, "Das Loch ist verfüllt.");
  const Text en = StatusChangedText(Resolved(), false, "en");
  EXPECT_EQ(en.title, "A report you follow (\"Pothole\") is resolved");
  EXPECT_EQ(Lang("fr"), "de");
}

TEST(Templates, CommentsAreShortenedAtCharacterBoundaries) {
  cityhub::events::v1::CommentAdded c;
  c.set_service_name_de("Graffiti");
  c.set_author_role("staff");
  c.set_text(std::string(300, 'x') + "ä");
  const Text t = CommentAddedText(c, true, "de");
  EXPECT_THAT(t.title, HasSubstr("Die Stadt hat Ihre Meldung"));
  EXPECT_EQ(t.body, std::string(200, 'x') + "…");
}

TEST(Templates, MailsCarryTheLinkInTextAndEscapedHtml) {
  const Mail m = VerificationMail("https://x/verify?token=a&b=c", "en");
  EXPECT_EQ(m.subject, "Please confirm your e-mail address");
  EXPECT_THAT(m.text, HasSubstr("https://x/verify?token=a&b=c"));
  EXPECT_THAT(m.html, HasSubstr("href=\"https://x/verify?token=a&amp;b=c\""));
  const Mail reset = PasswordResetMail("Anna <script>", "https://x/reset?token=a&b=c", "en");
  EXPECT_THAT(reset.html, HasSubstr("Anna &lt;script&gt;"));
  EXPECT_THAT(reset.html, Not(HasSubstr("<script>")));
  EXPECT_EQ(PasswordResetMail("Ben", "l", "de").subject, "Passwort zurücksetzen");
}

TEST(Templates, NameEveryStatus) {
  for (int s = rv1::SUBMITTED; s <= rv1::CLOSED; ++s) {
    EXPECT_NE(StatusName(static_cast<rv1::Status>(s), "de"), "geändert");
    EXPECT_NE(StatusName(static_cast<rv1::Status>(s), "en"), "changed");
  }
}

}  // namespace
}  // namespace cityhub::notifications
