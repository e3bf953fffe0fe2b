#include "services/requests/catalogue.h"

#include <fstream>
#include <sstream>

#include <gmock/gmock.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

namespace cityhub::requests {
namespace {

namespace v1 = cityhub::requests::v1;

v1::Service Valid() {
  v1::Service s;
  s.set_service_code("pothole");
  s.mutable_names()->set_de("Schlagloch");
  s.mutable_names()->set_en("Pothole");
  s.set_department("roads");
  s.set_sla_hours(72);
  s.set_active(true);
  auto* a = s.add_attributes();
  a->set_code("size");
  a->set_datatype("singlevaluelist");
  a->set_variable(true);
  auto* v = a->add_values();
  v->set_key("small");
  v->mutable_names()->set_de("klein");
  return s;
}

std::string Problem(const v1::Service& s) {
  auto r = ServiceFromApi(s, "bielefeld.de");
  return r.ok() ? "" : std::string(r.status().message());
}

TEST(Catalogue, RoundTripsBetweenApiAndStorage) {
  auto stored = ServiceFromApi(Valid(), "bielefeld.de");
  ASSERT_TRUE(stored.ok()) << stored.status();
  const v1::Service en = ServiceToApi(*stored, "en");
  EXPECT_EQ(en.name(), "Pothole");
  EXPECT_EQ(ServiceToApi(*stored, "de").name(), "Schlagloch");
  EXPECT_EQ(en.attributes(0).values(0).name(), "klein");  // no English name: German
  EXPECT_EQ(en.jurisdiction_id(), "bielefeld.de");
}

TEST(Catalogue, ValidationNamesTheField) {
  v1::Service s = Valid();
  s.set_service_code("bad code");
  EXPECT_THAT(Problem(s), ::testing::StartsWith("service_code:"));
  s = Valid();
  s.mutable_names()->clear_de();
  EXPECT_THAT(Problem(s), ::testing::StartsWith("names.de:"));
  s = Valid();
  s.set_sla_hours(0);
  EXPECT_THAT(Problem(s), ::testing::StartsWith("sla_hours:"));
  s = Valid();
  s.set_department("Roads Dept");
  EXPECT_THAT(Problem(s), ::testing::StartsWith("department:"));
  s = Valid();
  s.mutable_attributes(0)->set_datatype("colour");
  EXPECT_THAT(Problem(s), ::testing::StartsWith("attributes[0].datatype:"));
  s = Valid();
  s.mutable_attributes(0)->clear_values();
  EXPECT_THAT(Problem(s), ::testing::StartsWith("attributes[0].values:"));
  s = Valid();
  *s.add_attributes() = s.attributes(0);
  EXPECT_THAT(Problem(s), ::testing::StartsWith("attributes[1].code: appears twice"));
}

TEST(Catalogue, TheDefaultBielefeldCatalogueIsValid) {
  std::ifstream in(std::string(std::getenv("CITYHUB_SOURCE_DIR")) +
                   "/services/requests/catalogue/bielefeld.json");
  std::stringstream buffer;
  buffer << in.rdbuf();
  v1::ListServicesResponse seed;
  ASSERT_TRUE(
      google::protobuf::util::JsonStringToMessage("{\"services\":" + buffer.str() + "}", &seed)
          .ok());
  EXPECT_GE(seed.services_size(), 8);
  std::set<std::string> codes;
  for (const auto& s : seed.services()) {
    auto stored = ServiceFromApi(s, "bielefeld.de");
    EXPECT_TRUE(stored.ok()) << s.service_code() << ": " << stored.status();
    codes.insert(s.service_code());
  }
  for (const char* expected : {"streetlight", "pothole", "illegal_dumping", "graffiti",
                               "damaged_sign", "overflowing_bin", "playground", "tree"}) {
    EXPECT_TRUE(codes.count(expected)) << expected;
  }
}

}  // namespace
}  // namespace cityhub::requests
