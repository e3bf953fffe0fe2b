#include "services/requests/utf8_check.h"

#include <sys/resource.h>

#include <gmock/gmock.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include "cityhub/requests/v1/requests.pb.h"
#include "tests/harness/images.h"

namespace cityhub::requests {
namespace {

namespace v1 = cityhub::requests::v1;
using ::testing::Optional;

// Serializing logs (it does not refuse) strings that are not UTF-8: the bytes a careless
// client would send.
std::string Wire(const google::protobuf::Message& m) { return m.SerializeAsString(); }

v1::CreateRequestRequest Valid() {
  v1::CreateRequestRequest r;
  r.set_service_code("illegal_dumping");
  r.set_description("Sperrmüll am Straßenrand – seit Tagen 🛋");
  r.mutable_contact()->set_first_name("Jörg");
  auto& fields = *r.mutable_attributes()->mutable_fields();
  fields["waste_types"].mutable_list_value()->add_values()->set_string_value("bulky");
  fields["größe"].set_string_value("groß");
  r.add_media_ids(std::string(64, 'a'));
  return r;
}

TEST(FirstInvalidUtf8Field, FindsNothingInValidText) {
  EXPECT_EQ(FirstInvalidUtf8Field(*v1::CreateRequestRequest::descriptor(), Wire(Valid())),
            std::nullopt);
  EXPECT_EQ(FirstInvalidUtf8Field(*v1::CreateRequestRequest::descriptor(), ""), std::nullopt);
}

TEST(FirstInvalidUtf8Field, NamesTheFieldByItsPath) {
  const auto* type = v1::CreateRequestRequest::descriptor();
  v1::CreateRequestRequest r = Valid();
  r.set_description("Loch \xC3\x28");
  EXPECT_THAT(FirstInvalidUtf8Field(*type, Wire(r)), Optional(std::string("description")));
  r = Valid();
  r.mutable_contact()->set_last_name("M\xFCller");  // Latin-1
  EXPECT_THAT(FirstInvalidUtf8Field(*type, Wire(r)), Optional(std::string("contact.last_name")));
  r = Valid();
  r.add_media_ids("\xF0\x9F\x98");  // cut short
  EXPECT_THAT(FirstInvalidUtf8Field(*type, Wire(r)), Optional(std::string("media_ids")));
}

TEST(FirstInvalidUtf8Field, NamesAttributeAnswersByTheirCode) {
  const auto* type = v1::CreateRequestRequest::descriptor();
  v1::CreateRequestRequest r = Valid();
  (*r.mutable_attributes()->mutable_fields())["size"].set_string_value("\xC0\xAF");  // overlong
  EXPECT_THAT(FirstInvalidUtf8Field(*type, Wire(r)), Optional(std::string("attributes.size")));
  r = Valid();
  (*r.mutable_attributes()->mutable_fields())["waste_types"]
      .mutable_list_value()
      ->add_values()
      ->set_string_value("\xED\xB0\x80");  // a lone surrogate
  EXPECT_THAT(FirstInvalidUtf8Field(*type, Wire(r)),
              Optional(std::string("attributes.waste_types")));
  r = Valid();
  (*r.mutable_attributes()->mutable_fields())["bad\xFF"].set_string_value("ok");
  EXPECT_THAT(FirstInvalidUtf8Field(*type, Wire(r)), Optional(std::string("attributes")));
}

// A request nested as deep as protobuf allows around a large string is walked in place: the
// walk must not copy the message at every level (90 levels of a 4 MiB string were 360 MiB).
TEST(FirstInvalidUtf8Field, WalksDeepNestingWithoutCopying) {
  v1::CreateRequestRequest r = Valid();
  google::protobuf::Value* value = &(*r.mutable_attributes()->mutable_fields())["deep"];
  for (int i = 0; i < 45; ++i) value = value->mutable_list_value()->add_values();  // 90 levels
  value->set_string_value(std::string(4 << 20, 'x') + "\xFF");
  const std::string wire = Wire(r);
  rusage before{};
  getrusage(RUSAGE_SELF, &before);
  EXPECT_THAT(FirstInvalidUtf8Field(*v1::CreateRequestRequest::descriptor(), wire),
              Optional(std::string("attributes.deep")));
  rusage after{};
  getrusage(RUSAGE_SELF, &after);
  EXPECT_LT(after.ru_maxrss - before.ru_maxrss, 32 * 1024);  // KiB
}

TEST(FirstInvalidUtf8Field, LeavesBinaryFieldsAlone) {
  v1::UploadMediaRequest upload;
  upload.mutable_file()->set_data(cityhub::testing::TestJpeg(8, 8, true));
  upload.mutable_file()->set_content_type("image/jpeg");
  EXPECT_EQ(FirstInvalidUtf8Field(*v1::UploadMediaRequest::descriptor(), Wire(upload)),
            std::nullopt);
}

TEST(ParseRequest, ParsesValidMessagesAndRefusesOthersNamingTheField) {
  const v1::CreateRequestRequest valid = Valid();
  grpc::Slice slice(Wire(valid));
  v1::CreateRequestRequest parsed;
  ASSERT_TRUE(ParseRequest(grpc::ByteBuffer(&slice, 1), &parsed).ok());
  // (Compared as messages: map entries serialize in no fixed order.)
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(parsed, valid))
      << parsed.DebugString();

  v1::CreateRequestRequest bad = Valid();
  bad.set_address("\xFF");
  grpc::Slice bad_slice(Wire(bad));
  const absl::Status s = ParseRequest(grpc::ByteBuffer(&bad_slice, 1), &parsed);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "address: not valid UTF-8");

  grpc::Slice garbage(
      std::string("\x0a\x05"
                  "ab",
                  4));  // a length beyond the end
  const absl::Status g = ParseRequest(grpc::ByteBuffer(&garbage, 1), &parsed);
  EXPECT_EQ(g.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(g.message()), ::testing::StartsWith("request: "));

  EXPECT_TRUE(ParseRequest(grpc::ByteBuffer(), &parsed).ok());  // an empty message
  EXPECT_EQ(parsed.service_code(), "");
}

}  // namespace
}  // namespace cityhub::requests
