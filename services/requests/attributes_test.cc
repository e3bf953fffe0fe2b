#include "services/requests/attributes.h"

#include <gmock/gmock.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

namespace cityhub::requests {
namespace {

using cityhub::storage::requests::StoredService;

StoredService Streetlight() {
  StoredService s;
  s.set_code("streetlight");
  auto* pole = s.add_attributes();
  pole->set_code("pole_number");
  pole->set_datatype("string");
  pole->set_variable(true);
  auto* kind = s.add_attributes();
  kind->set_code("kind");
  kind->set_datatype("singlevaluelist");
  kind->set_required(true);
  kind->set_variable(true);
  for (const char* k : {"dark", "flickering", "day_burner"}) kind->add_values()->set_key(k);
  auto* hazards = s.add_attributes();
  hazards->set_code("hazards");
  hazards->set_datatype("multivaluelist");
  hazards->set_variable(true);
  for (const char* k : {"cable", "glass", "leaning"}) hazards->add_values()->set_key(k);
  auto* count = s.add_attributes();
  count->set_code("lamps");
  count->set_datatype("number");
  count->set_variable(true);
  auto* since = s.add_attributes();
  since->set_code("since");
  since->set_datatype("datetime");
  since->set_variable(true);
  auto* info = s.add_attributes();
  info->set_code("note");
  info->set_datatype("text");
  info->set_variable(false);
  return s;
}

google::protobuf::Struct Json(const std::string& text) {
  google::protobuf::Struct s;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(text, &s).ok()) << text;
  return s;
}

std::string Problem(const std::string& json) {
  auto result = ValidateAttributes(Json(json), Streetlight());
  return result.ok() ? "" : std::string(result.status().message());
}

TEST(Attributes, AcceptsValidAnswersAndStoresThemAsJson) {
  auto json = ValidateAttributes(
      Json(
          R"({"kind":"dark","hazards":["cable","glass"],"lamps":2,"since":"2026-11-24T18:00:00+01:00","pole_number":"A-17"})"),
      Streetlight());
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_EQ(AttributesFromStorage(*json).fields().at("hazards").list_value().values_size(), 2);
}

TEST(Attributes, NameTheAttributeInEveryProblem) {
  EXPECT_EQ(Problem(R"({})"), "attributes.kind: is required");
  EXPECT_EQ(Problem(R"({"kind":"purple"})"), "attributes.kind: must be one of the listed values");
  EXPECT_EQ(Problem(R"({"kind":"dark","hazards":["fire"]})"),
            "attributes.hazards: must list only the allowed values");
  EXPECT_EQ(Problem(R"({"kind":"dark","hazards":["cable","cable"]})"),
            "attributes.hazards: lists a value more than once");
  EXPECT_EQ(Problem(R"({"kind":"dark","hazards":{"a":1}})"), "attributes.hazards: must be a list");
  EXPECT_EQ(Problem(R"({"kind":"dark","lamps":"two"})"), "attributes.lamps: must be a number");
  EXPECT_EQ(Problem(R"({"kind":"dark","since":"yesterday"})"),
            "attributes.since: must be an RFC 3339 date and time");
  EXPECT_EQ(Problem(R"({"kind":"dark","colour":"red"})"),
            "attributes.colour: not an attribute of this category");
  EXPECT_EQ(Problem(R"({"kind":"dark","note":"x"})"),
            "attributes.note: not an attribute of this category");
  EXPECT_EQ(Problem(R"({"kind":"dark","pole_number":")" + std::string(201, 'x') + "\"}"),
            "attributes.pole_number: longer than 200 characters");
}

TEST(Attributes, TextFromFormsBecomesNumbersAndLists) {
  // Open311 clients post form fields: numbers and single list keys arrive as text.
  auto stored =
      ValidateAttributes(Json(R"({"kind":"dark","hazards":"glass","lamps":"3.5"})"), Streetlight());
  ASSERT_TRUE(stored.ok()) << stored.status();
  const auto back = AttributesFromStorage(*stored);
  ASSERT_EQ(back.fields().at("hazards").list_value().values_size(), 1);
  EXPECT_EQ(back.fields().at("hazards").list_value().values(0).string_value(), "glass");
  EXPECT_EQ(back.fields().at("lamps").number_value(), 3.5);
  EXPECT_EQ(Problem(R"({"kind":"dark","lamps":"3x"})"), "attributes.lamps: must be a number");
  EXPECT_EQ(Problem(R"({"kind":"dark","lamps":"inf"})"), "attributes.lamps: must be a number");
  EXPECT_EQ(Problem(R"({"kind":"dark","hazards":"fire"})"),
            "attributes.hazards: must list only the allowed values");
}

}  // namespace
}  // namespace cityhub::requests
