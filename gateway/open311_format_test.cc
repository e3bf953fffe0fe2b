#include "gateway/open311_format.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace cityhub::gateway::open311 {
namespace {

using Json = nlohmann::ordered_json;

TEST(Open311Format, SplitsTheFormatSuffix) {
  auto r = SplitFormat("services/pothole.xml");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->name, "services/pothole");
  EXPECT_EQ(r->format, Format::kXml);
  EXPECT_EQ(SplitFormat("requests.json")->format, Format::kJson);
  EXPECT_FALSE(SplitFormat("requests"));
  EXPECT_FALSE(SplitFormat("requests.html"));
}

TEST(Open311Format, WritesListsAsRepeatedElementsAndEscapesText) {
  Json doc = Json::array();
  doc.push_back({{"service_code", "pothole"},
                 {"description", "Löcher & <Risse> \"tief\""},
                 {"metadata", true},
                 {"lat", 52.5},
                 {"expected_datetime", nullptr},
                 {"values", Json::array({Json{{"key", "a"}}})}});
  EXPECT_EQ(Render(doc, Format::kXml, "services", "service"),
            "<?xml version=\"1.0\" "
            "encoding=\"UTF-8\"?>\n<services><service><service_code>pothole</service_code>"
            "<description>Löcher &amp; &lt;Risse&gt; "
            "&quot;tief&quot;</description><metadata>true</metadata>"
            "<lat>52.5</lat><expected_datetime/><values><value><key>a</key></value></values></"
            "service></services>\n");
  EXPECT_EQ(
      Render(doc, Format::kJson, "services", "service"),
      R"([{"service_code":"pothole","description":"Löcher & <Risse> \"tief\"","metadata":true,"lat":52.5,)"
      R"("expected_datetime":null,"values":[{"key":"a"}]}])");
  // Characters XML 1.0 cannot carry are dropped rather than breaking the document.
  EXPECT_EQ(Render(Json{{"a", std::string("x\x01y")}}, Format::kXml, "r", "i"),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<r><a>xy</a></r>\n");
  EXPECT_EQ(
      Render(Json{{"a", std::string("x\xEF\xBF\xBFy\xEF\xBF\xBEz\xEF\xBF\xBD")}}, Format::kXml, "r",
             "i"),
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<r><a>xyz\xEF\xBF\xBD</a></r>\n");  // U+FFFF,
                                                                                       // U+FFFE
                                                                                       // out;
                                                                                       // U+FFFD
                                                                                       // stays
}

TEST(Open311Format, ErrorsInBothFormats) {
  EXPECT_EQ(RenderErrors(403, "api_key: missing", Format::kJson),
            R"([{"code":403,"description":"api_key: missing"}])");
  EXPECT_EQ(RenderErrors(404, "x", Format::kXml),
            "<?xml version=\"1.0\" "
            "encoding=\"UTF-8\"?>\n<errors><error><code>404</code><description>x</description>"
            "</error></errors>\n");
}

TEST(Open311Format, ParsesW3cDateTimesWithZone) {
  EXPECT_EQ(ParseDateTime("1994-11-05T13:15:30Z"), 784041330000);
  EXPECT_EQ(ParseDateTime("1994-11-05T08:15:30-05:00"), 784041330000);
  EXPECT_EQ(ParseDateTime("1994-11-05T14:15:30.25+01:00"), 784041330250);
  EXPECT_EQ(ParseDateTime("1994-11-05T13:15Z"), 784041300000);
  EXPECT_FALSE(ParseDateTime("1994-11-05T13:15:30"));    // no zone
  EXPECT_EQ(ParseDateTime("1994-11-05"), 783993600000);  // a date alone: its start, UTC
  EXPECT_FALSE(ParseDateTime("1994-11-5x"));
  EXPECT_FALSE(ParseDateTime("1994-13-05"));
  EXPECT_FALSE(ParseDateTime("1994-02-30T00:00:00Z"));
  EXPECT_FALSE(ParseDateTime("1994-11-05T24:00:00Z"));
  EXPECT_FALSE(ParseDateTime("1994-11-05T13:15:30+1:00"));
  EXPECT_EQ(ParseDateTime("1994-11-05T14:15:30 01:00"),
            784041330000);  // an unencoded '+' in a query
  EXPECT_FALSE(ParseDateTime("yesterday at noon, UTC"));
  EXPECT_EQ(FormatDateTime(784041330250), "1994-11-05T13:15:30Z");
}

ParsedQuery Form(std::vector<std::pair<std::string, std::string>> params) {
  return ParsedQuery{std::move(params)};
}

TEST(Open311Format, ReadsSingleAndMultiValueAttributes) {
  auto s = AttributesFromForm(Form({{"service_code", "waste"},
                                    {"attribute[waste_types][]", "glass"},
                                    {"attribute[size]", "large"},
                                    {"attribute[waste_types][]", "paper"}}));
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->fields().at("size").string_value(), "large");
  const auto& list = s->fields().at("waste_types").list_value();
  ASSERT_EQ(list.values_size(), 2);
  EXPECT_EQ(list.values(1).string_value(), "paper");
}

TEST(Open311Format, NamesMalformedAttributeFields) {
  auto problem = [](std::vector<std::pair<std::string, std::string>> p) {
    auto s = AttributesFromForm(Form(std::move(p)));
    return s.ok() ? std::string() : std::string(s.status().message());
  };
  EXPECT_EQ(problem({{"attribute[size]", "a"}, {"attribute[size]", "b"}}),
            "attribute[size]: given twice");
  EXPECT_EQ(problem({{"attribute[size]", "a"}, {"attribute[size][]", "b"}}),
            "attribute[size]: given both as a single value and as a list");
  EXPECT_EQ(problem({{"attribute[]", "a"}}),
            "attribute[]: write attribute[CODE] or attribute[CODE][]");
  EXPECT_EQ(problem({{"attribute[a]x", "a"}}),
            "attribute: write attribute[CODE] or attribute[CODE][]");
  EXPECT_EQ(problem({{"attributes", "a"}}),
            "attributes: write attribute[CODE] or attribute[CODE][]");
}

}  // namespace
}  // namespace cityhub::gateway::open311
