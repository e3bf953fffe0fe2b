#include "infra/text.h"

#include <gtest/gtest.h>

namespace cityhub::infra {
namespace {

TEST(Utf8, AcceptsWellFormedText) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("Straßenlaterne defekt"));
  EXPECT_TRUE(IsValidUtf8("\xF0\x9F\x9A\xA7"));  // U+1F6A7
  EXPECT_EQ(Utf8Length("Straße"), 6u);
}

TEST(Utf8, RejectsMalformedText) {
  EXPECT_FALSE(IsValidUtf8("\xC3"));              // truncated
  EXPECT_FALSE(IsValidUtf8("\xC0\xAF"));          // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));      // surrogate
  EXPECT_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xFF"));
}

TEST(CheckText, NamesTheProblem) {
  EXPECT_EQ(CheckText("ok", 1, 10, false), std::nullopt);
  EXPECT_EQ(CheckText("", 1, 10, false), "must not be empty");
  EXPECT_EQ(CheckText("abc", 5, 10, false), "shorter than 5 characters");
  EXPECT_EQ(CheckText(std::string(11, 'a'), 1, 10, false), "longer than 10 characters");
  EXPECT_EQ(CheckText("ä", 1, 1, false), std::nullopt);  // characters, not bytes
  EXPECT_EQ(CheckText("a\nb", 1, 10, false), "contains control characters");
  EXPECT_EQ(CheckText("a\nb", 1, 10, true), std::nullopt);
  EXPECT_EQ(CheckText("a\x01", 1, 10, true), "contains control characters");
  EXPECT_EQ(CheckText("\xFF", 1, 10, true), "not valid UTF-8");
}

TEST(AppendJsonString, EscapesAndRepairs) {
  std::string out;
  AppendJsonString(out, "a\"b\\c\n\x01\xFFü");
  EXPECT_EQ(out, "\"a\\\"b\\\\c\\n\\u0001\xEF\xBF\xBDü\"");
}

TEST(AppendJsonString, AppendsRunsBetweenEscapesWhole) {
  std::string out = "x";
  AppendJsonString(out, "");
  AppendJsonString(out, "plain text");
  AppendJsonString(out, "\x7F\r\t\x1F end");
  AppendJsonString(out, "a\xC3\"\xF0\x9F\x9A\xA7\xE2\x82");  // cut sequences become U+FFFD
  EXPECT_EQ(out,
            "x\"\"\"plain text\"\"\\u007f\\r\\t\\u001f end\""
            "\"a\xEF\xBF\xBD\\\"\xF0\x9F\x9A\xA7\xEF\xBF\xBD\xEF\xBF\xBD\"");
}

TEST(TrimAscii, RemovesOuterWhitespaceOnly) {
  EXPECT_EQ(TrimAscii("  a b \n"), "a b");
  EXPECT_EQ(TrimAscii(""), "");
}

}  // namespace
TEST(EscapeHtml, EscapesEveryCharacterThatCanEndTextOrAnAttribute) {
  EXPECT_EQ(EscapeHtml(R"(<a href="x?a=1&b='2'">)"),
            "&lt;a href=&quot;x?a=1&amp;b=&#39;2&#39;&quot;&gt;");
  EXPECT_EQ(EscapeHtml("Grüße"), "Grüße");
}

}  // namespace cityhub::infra
