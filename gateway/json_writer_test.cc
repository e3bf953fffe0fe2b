#include "gateway/json_writer.h"

#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/time_util.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cityhub/accounts/v1/accounts.pb.h"
#include "cityhub/notifications/v1/notifications.pb.h"
#include "cityhub/requests/v1/requests.pb.h"

namespace cityhub::gateway {
namespace {

namespace rv1 = cityhub::requests::v1;

// The writer must say what protobuf's own printer says (compared as parsed JSON, since
// number spellings may differ: 1e21 vs 1e+21).
void ExpectSame(const google::protobuf::Message& m) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  std::string reference;
  ASSERT_TRUE(google::protobuf::util::MessageToJsonString(m, &reference, options).ok());
  const std::string ours = WriteJson(m);
  EXPECT_EQ(nlohmann::json::parse(ours), nlohmann::json::parse(reference))
      << "ours:      " << ours << "\nprotobuf:  " << reference;
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

}  // namespace
}  // namespace cityhub::gateway
