#include "gateway/json_writer.h"

#include <cstdint>
#include <memory>

#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/empty.pb.h>
#include <google/protobuf/text_format.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/time_util.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cityhub/accounts/v1/accounts.pb.h"
#include "cityhub/notifications/v1/notifications.pb.h"
#include "cityhub/requests/v1/requests.pb.h"
#include "gateway/json_writer_baseline.h"

namespace cityhub::gateway {
namespace {

namespace rv1 = cityhub::requests::v1;
namespace pb = google::protobuf;
using pb::util::TimeUtil;

// The writer must say what protobuf's own printer says (compared as parsed JSON, since
// number spellings may differ: 1e21 vs 1e+21), and byte for byte what the writer said before
// per-type plans (the frozen baseline).
void ExpectSame(const google::protobuf::Message& m) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  std::string reference;
  ASSERT_TRUE(google::protobuf::util::MessageToJsonString(m, &reference, options).ok());
  const std::string ours = WriteJson(m);
  EXPECT_EQ(nlohmann::json::parse(ours), nlohmann::json::parse(reference))
      << "ours:      " << ours << "\nprotobuf:  " << reference;
  EXPECT_EQ(ours, baseline::WriteJson(m));
}

rv1::ServiceRequest FullRequest() {
  rv1::ServiceRequest r;
  r.set_request_id("01JABC");
  r.set_status(rv1::IN_PROGRESS);
  r.set_description(
      "Quote \" backslash \\ newline \n tab \t ctrl \x01 umlaut ä emoji \xF0\x9F\x9A\xA7");
  r.set_lat(52.021123456789);
  r.set_long_(8.53);
  r.add_media_ids("a");
  r.add_media_urls("https://x/y");
  *r.mutable_requested_at() =
      google::protobuf::util::TimeUtil::MillisecondsToTimestamp(1764043585123);
  *r.mutable_updated_at() = google::protobuf::util::TimeUtil::SecondsToTimestamp(1764043585);
  auto& fields = *r.mutable_attributes()->mutable_fields();
  fields["problem"].set_string_value("dark");
  fields["lamps"].set_number_value(2.5);
  fields["ok"].set_bool_value(true);
  fields["none"].set_null_value(google::protobuf::NULL_VALUE);
  fields["list"].mutable_list_value()->add_values()->set_string_value("x");
  (*fields["nested"].mutable_struct_value()->mutable_fields())["k"].set_number_value(1e21);
  auto* h = r.add_history();
  h->set_from_status(rv1::SUBMITTED);
  h->set_to_status(rv1::ACKNOWLEDGED);
  h->set_public_note("ok");
  r.mutable_contact()->set_email("a@b.de");
  r.set_follower_count(3);
  return r;
}

TEST(JsonWriter, MatchesProtobufOnTheApiMessages) {
  ExpectSame(FullRequest());
  ExpectSame(rv1::ServiceRequest());
  rv1::ListRequestsResponse list;
  *list.add_requests() = FullRequest();
  list.set_next_page_token("01JX");
  ExpectSame(list);
  rv1::Service service;
  service.set_service_code("pothole");
  service.add_keywords("Loch");
  service.mutable_names()->set_de("Schlagloch");
  auto* a = service.add_attributes();
  a->set_code("size");
  a->add_values()->set_key("small");
  ExpectSame(service);
  cityhub::accounts::v1::TokenPair pair;
  pair.set_access_token("x.y.z");
  pair.set_expires_in(600);  // int64: a string in JSON
  ExpectSame(pair);
  cityhub::accounts::v1::UpdateMeRequest optional;  // proto3 optional fields: only when set
  ExpectSame(optional);
  optional.set_phone("");
  ExpectSame(optional);
  cityhub::notifications::v1::Notification n;
  n.set_kind(cityhub::notifications::v1::KIND_OWN_REQUEST_STATUS);
  auto* d = n.add_deliveries();
  d->set_channel(cityhub::notifications::v1::CHANNEL_PUSH);
  d->set_state(cityhub::notifications::v1::DELIVERY_STATE_SENT);
  ExpectSame(n);
  cityhub::api::HttpBody body;
  body.set_data(std::string("\x00\xff\x10 binary", 10));
  ExpectSame(body);
  rv1::UpdateServiceRequest mask;
  mask.mutable_update_mask()->add_paths("sla_hours");
  mask.mutable_update_mask()->add_paths("names.de");
  ExpectSame(mask);
}

TEST(JsonWriter, SpecialNumbers) {
  rv1::ServiceRequest r;
  r.set_lat(std::nan(""));
  r.set_long_(INFINITY);
  ExpectSame(r);
}

// Every kind of field, maps with each kind of key, and the well-known types, in a pool of its
// own: its messages are dynamic ones, so Struct and Value take the reflection path too.
// clang-format off
constexpr char kAllKinds[] = R"pb(
  name: "all_kinds.proto"
  package: "jsontest"
  syntax: "proto3"
  dependency: [ "google/protobuf/timestamp.proto", "google/protobuf/duration.proto",
                "google/protobuf/struct.proto", "google/protobuf/field_mask.proto",
                "google/protobuf/empty.proto" ]
  enum_type { name: "Color" value { name: "COLOR_UNSPECIFIED" number: 0 }
              value { name: "RED" number: 1 } value { name: "GREEN" number: 5 } }
  message_type {
    name: "All"
    field { name: "i32" number: 1 type: TYPE_INT32 label: LABEL_OPTIONAL }
    field { name: "i64" number: 2 type: TYPE_INT64 label: LABEL_OPTIONAL }
    field { name: "u32" number: 3 type: TYPE_UINT32 label: LABEL_OPTIONAL }
    field { name: "u64" number: 4 type: TYPE_UINT64 label: LABEL_OPTIONAL }
    field { name: "s32" number: 5 type: TYPE_SINT32 label: LABEL_OPTIONAL }
    field { name: "s64" number: 6 type: TYPE_SINT64 label: LABEL_OPTIONAL }
    field { name: "fx32" number: 7 type: TYPE_FIXED32 label: LABEL_OPTIONAL }
    field { name: "fx64" number: 8 type: TYPE_FIXED64 label: LABEL_OPTIONAL }
    field { name: "sfx32" number: 9 type: TYPE_SFIXED32 label: LABEL_OPTIONAL }
    field { name: "sfx64" number: 10 type: TYPE_SFIXED64 label: LABEL_OPTIONAL }
    field { name: "fl" number: 11 type: TYPE_FLOAT label: LABEL_OPTIONAL }
    field { name: "db" number: 12 type: TYPE_DOUBLE label: LABEL_OPTIONAL }
    field { name: "b" number: 13 type: TYPE_BOOL label: LABEL_OPTIONAL }
    field { name: "s" number: 14 type: TYPE_STRING label: LABEL_OPTIONAL }
    field { name: "by" number: 15 type: TYPE_BYTES label: LABEL_OPTIONAL }
    field { name: "color" number: 16 type: TYPE_ENUM type_name: ".jsontest.Color" label: LABEL_OPTIONAL }
    field { name: "r_i32" number: 20 type: TYPE_INT32 label: LABEL_REPEATED }
    field { name: "r_u64" number: 21 type: TYPE_UINT64 label: LABEL_REPEATED }
    field { name: "r_fl" number: 22 type: TYPE_FLOAT label: LABEL_REPEATED }
    field { name: "r_db" number: 23 type: TYPE_DOUBLE label: LABEL_REPEATED }
    field { name: "r_b" number: 24 type: TYPE_BOOL label: LABEL_REPEATED }
    field { name: "r_s" number: 25 type: TYPE_STRING label: LABEL_REPEATED }
    field { name: "r_by" number: 26 type: TYPE_BYTES label: LABEL_REPEATED }
    field { name: "r_color" number: 27 type: TYPE_ENUM type_name: ".jsontest.Color" label: LABEL_REPEATED }
    field { name: "child" number: 30 type: TYPE_MESSAGE type_name: ".jsontest.All" label: LABEL_OPTIONAL }
    field { name: "children" number: 31 type: TYPE_MESSAGE type_name: ".jsontest.All" label: LABEL_REPEATED }
    field { name: "o_s" number: 32 type: TYPE_STRING label: LABEL_OPTIONAL oneof_index: 0 }
    field { name: "o_i" number: 33 type: TYPE_INT32 label: LABEL_OPTIONAL oneof_index: 0 }
    field { name: "m_is" number: 40 type: TYPE_MESSAGE type_name: ".jsontest.All.MIsEntry" label: LABEL_REPEATED }
    field { name: "m_ul" number: 41 type: TYPE_MESSAGE type_name: ".jsontest.All.MUlEntry" label: LABEL_REPEATED }
    field { name: "m_bd" number: 42 type: TYPE_MESSAGE type_name: ".jsontest.All.MBdEntry" label: LABEL_REPEATED }
    field { name: "m_sc" number: 43 type: TYPE_MESSAGE type_name: ".jsontest.All.MScEntry" label: LABEL_REPEATED }
    field { name: "m_la" number: 44 type: TYPE_MESSAGE type_name: ".jsontest.All.MLaEntry" label: LABEL_REPEATED }
    field { name: "ts" number: 50 type: TYPE_MESSAGE type_name: ".google.protobuf.Timestamp" label: LABEL_OPTIONAL }
    field { name: "du" number: 51 type: TYPE_MESSAGE type_name: ".google.protobuf.Duration" label: LABEL_OPTIONAL }
    field { name: "st" number: 52 type: TYPE_MESSAGE type_name: ".google.protobuf.Struct" label: LABEL_OPTIONAL }
    field { name: "va" number: 53 type: TYPE_MESSAGE type_name: ".google.protobuf.Value" label: LABEL_OPTIONAL }
    field { name: "lv" number: 54 type: TYPE_MESSAGE type_name: ".google.protobuf.ListValue" label: LABEL_OPTIONAL }
    field { name: "fm" number: 55 type: TYPE_MESSAGE type_name: ".google.protobuf.FieldMask" label: LABEL_OPTIONAL }
    field { name: "em" number: 56 type: TYPE_MESSAGE type_name: ".google.protobuf.Empty" label: LABEL_OPTIONAL }
    field { name: "r_ts" number: 57 type: TYPE_MESSAGE type_name: ".google.protobuf.Timestamp" label: LABEL_REPEATED }
    field { name: "r_du" number: 58 type: TYPE_MESSAGE type_name: ".google.protobuf.Duration" label: LABEL_REPEATED }
    oneof_decl { name: "choice" }
    nested_type { name: "MIsEntry" options { map_entry: true }
      field { name: "key" number: 1 type: TYPE_INT32 label: LABEL_OPTIONAL }
      field { name: "value" number: 2 type: TYPE_STRING label: LABEL_OPTIONAL } }
    nested_type { name: "MUlEntry" options { map_entry: true }
      field { name: "key" number: 1 type: TYPE_UINT64 label: LABEL_OPTIONAL }
      field { name: "value" number: 2 type: TYPE_INT64 label: LABEL_OPTIONAL } }
    nested_type { name: "MBdEntry" options { map_entry: true }
      field { name: "key" number: 1 type: TYPE_BOOL label: LABEL_OPTIONAL }
      field { name: "value" number: 2 type: TYPE_DOUBLE label: LABEL_OPTIONAL } }
    nested_type { name: "MScEntry" options { map_entry: true }
      field { name: "key" number: 1 type: TYPE_STRING label: LABEL_OPTIONAL }
      field { name: "value" number: 2 type: TYPE_ENUM type_name: ".jsontest.Color" label: LABEL_OPTIONAL } }
    nested_type { name: "MLaEntry" options { map_entry: true }
      field { name: "key" number: 1 type: TYPE_INT64 label: LABEL_OPTIONAL }
      field { name: "value" number: 2 type: TYPE_MESSAGE type_name: ".jsontest.All" label: LABEL_OPTIONAL } }
  }
)pb";
// clang-format on

class AllKinds : public ::testing::Test {
 protected:
  AllKinds() : pool_(pb::DescriptorPool::generated_pool()) {
    pb::FileDescriptorProto file;
    EXPECT_TRUE(pb::TextFormat::ParseFromString(kAllKinds, &file));
    EXPECT_NE(pool_.BuildFile(file), nullptr);
    descriptor_ = pool_.FindMessageTypeByName("jsontest.All");
  }

  // `generated_wkt`: the well-known types as their generated classes (as in the gateway), else
  // as dynamic messages.
  std::unique_ptr<pb::Message> New(bool generated_wkt) {
    auto& factory = generated_wkt ? delegating_ : dynamic_;
    factory.SetDelegateToGeneratedFactory(generated_wkt);
    return std::unique_ptr<pb::Message>(factory.GetPrototype(descriptor_)->New());
  }

  // Every field set to something worth printing (text read into the message).
  std::unique_ptr<pb::Message> Full(bool generated_wkt) {
    auto m = New(generated_wkt);
    // clang-format off
    EXPECT_TRUE(pb::TextFormat::ParseFromString(R"pb(
      i32: -2147483648 i64: -9223372036854775808 u32: 4294967295 u64: 18446744073709551615
      s32: -7 s64: 9007199254740993 fx32: 7 fx64: 8 sfx32: -9 sfx64: -10
      fl: -1.5e38 db: -2.5e-308 b: true s: "grüße \"x\"" by: "\x00\x01\xfe\xff"
      color: GREEN
      r_i32: [1, -1, 0] r_u64: [0, 42] r_fl: [0.1, -0.5] r_db: [1e21, 1e-7, 0] r_b: [true, false]
      r_s: ["", "a\\b"] r_by: ["", "a", "ab", "abc"] r_color: [RED, COLOR_UNSPECIFIED]
      child { s: "inner" child { i32: 1 } }
      children { i64: 1 } children { }
      o_i: 0
      m_is { key: 10 value: "ten" } m_is { key: 9 value: "nine" } m_is { key: -1 value: "" }
      m_ul { key: 18446744073709551615 value: -1 } m_ul { key: 2 value: 2 }
      m_bd { key: true value: 1.5 } m_bd { key: false value: -0.0 }
      m_sc { key: "b" value: RED } m_sc { key: "a" value: GREEN } m_sc { key: "ä" value: COLOR_UNSPECIFIED }
      m_la { key: -5 value { s: "map value" } }
      ts { seconds: -1 nanos: 999000000 } du { seconds: -3 nanos: -500 }
      st { fields { key: "z" value { null_value: NULL_VALUE } }
           fields { key: "a" value { list_value { values { number_value: 1 } values { string_value: "s" } } } }
           fields { key: "m" value { struct_value { fields { key: "x" value { bool_value: false } } } } } }
      va { number_value: 0.1 } lv { values { null_value: NULL_VALUE } values { bool_value: true } }
      fm { paths: ["a_b.c_d", "e"] } em { }
      r_ts { seconds: 0 } r_ts { seconds: 253402300799 nanos: 999999999 } r_ts { seconds: -62135596800 }
      r_ts { seconds: 951782400 nanos: 1000 } r_ts { seconds: -2208988800 nanos: 5 }
      r_du { seconds: 0 } r_du { seconds: 315576000000 nanos: 999999999 } r_du { nanos: -1000000 }
    )pb", m.get()));
    // clang-format on
    return m;
  }

  pb::DescriptorPool pool_;
  const pb::Descriptor* descriptor_ = nullptr;
  pb::DynamicMessageFactory delegating_{&pool_};
  pb::DynamicMessageFactory dynamic_{&pool_};
};

TEST_F(AllKinds, EveryKindOfFieldMatchesProtobuf) {
  ExpectSame(*New(true));
  ExpectSame(*Full(true));
}

TEST_F(AllKinds, DynamicWellKnownTypesMatchProtobuf) {
  ExpectSame(*New(false));
  ExpectSame(*Full(false));
}

TEST_F(AllKinds, EnumValuesUnknownByNumberArePrintedAsNumbers) {
  auto m = New(true);
  const auto* r = m->GetReflection();
  r->SetEnumValue(m.get(), descriptor_->FindFieldByName("color"), 7);
  r->AddEnumValue(m.get(), descriptor_->FindFieldByName("r_color"), -3);
  ExpectSame(*m);
  rv1::ServiceRequest request;
  request.set_status(static_cast<rv1::Status>(99));
  ExpectSame(request);
}

TEST(JsonWriter, TimestampsAsTimeUtilWritesThem) {
  const int64_t kSeconds[] = {
      0,         -1,           1,           -86400,     86399,        951782400,
      951868800, -2208988800,  4107542400,  1764043585, -62135596800, 253402300799,
      68169600,  -62135596801, 253402300800};
  const int32_t kNanos[] = {0,         1,         999999999, 1000, 1000000,
                            123000000, 123456000, 123456789, -1,   1000000000};
  for (int64_t s : kSeconds) {
    for (int32_t n : kNanos) {
      pb::Timestamp t;
      t.set_seconds(s);
      t.set_nanos(n);
      const std::string expected = "\"" + TimeUtil::ToString(t) + "\"";
      EXPECT_EQ(WriteJson(t), expected) << s << " " << n;
    }
  }
  // Every day of the range's civil calendar arithmetic, sampled.
  for (int64_t s = -62135596800; s <= 253402300799; s += 86400 * 37 + 3601) {
    pb::Timestamp t;
    t.set_seconds(s);
    EXPECT_EQ(WriteJson(t), "\"" + TimeUtil::ToString(t) + "\"") << s;
  }
}

TEST(JsonWriter, DurationsAsTimeUtilWritesThem) {
  const int64_t kSeconds[] = {0, 1, -1, 59, -315576000000, 315576000000, INT64_MAX, INT64_MIN};
  const int32_t kNanos[] = {0,    1,          -1,        500000000,  -500000000,
                            1000, -123456789, 999999999, 1000000000, -1000000000};
  for (int64_t s : kSeconds) {
    for (int32_t n : kNanos) {
      pb::Duration d;
      d.set_seconds(s);
      d.set_nanos(n);
      if (s == INT64_MIN) {
        EXPECT_EQ(WriteJson(d), baseline::WriteJson(d)) << s << " " << n;
      } else {
        EXPECT_EQ(WriteJson(d), "\"" + TimeUtil::ToString(d) + "\"") << s << " " << n;
      }
    }
  }
}

TEST(JsonWriter, WellKnownTypesAtTheTopMatchProtobuf) {
  pb::Struct s;
  (*s.mutable_fields())["k"].set_string_value("v");
  ExpectSame(s);
  pb::Value v;
  v.set_null_value(pb::NULL_VALUE);
  ExpectSame(v);
  ExpectSame(pb::Empty());
  pb::FieldMask mask;
  mask.add_paths("names.de");
  ExpectSame(mask);
  ExpectSame(TimeUtil::SecondsToTimestamp(0));
  ExpectSame(TimeUtil::NanosecondsToDuration(-1500000000));
}

TEST(JsonWriter, APageOfRequestsMatchesProtobuf) {
  rv1::ListRequestsResponse page;
  for (int i = 0; i < 20; ++i) {
    auto& r = *page.add_requests() = FullRequest();
    r.set_follower_count(i);
    *r.mutable_requested_at() = TimeUtil::NanosecondsToTimestamp(1764043585123456789 + i * 1000);
    r.add_history()->set_to_status(static_cast<rv1::Status>(i));
  }
  ExpectSame(page);
}

}  // namespace
}  // namespace cityhub::gateway
