#pragma once

// What the tests of issue #14 B share (requests_moderation_test.cc, requests_reporter_test.cc):
// their callers and helpers over the requests service fixture.
#include <functional>
#include <string>

#include <gtest/gtest.h>

#include "services/requests/requests_test_fixture.h"
#include "tests/harness/images.h"

namespace cityhub::requests::moderation_testing {

namespace v1 = cityhub::requests::v1;

// kAnna, kBen, kLights, kParks, kAdmin and kNobody are in requests_test_fixture.h.
// An account id that is a valid ULID, for the privacy export.
inline const Who kStaff = {
    "01JSTAFF000000000000000000", {"citizen", "operator"}, {"street-lighting"}, true};

inline constexpr char kSecret[] = "Anna Musterfrau, Tel. 0521 998877, wohnt nebenan";

class ModerationTest : public RequestsServiceTest {
 protected:
  std::string Upload(const Who& who, int size) {
    v1::UploadMediaRequest upload;
    upload.mutable_file()->set_data(cityhub::testing::TestPng(size, size, false));
    v1::Media media;
    EXPECT_TRUE(stub_->UploadMedia(Ctx(who).get(), upload, &media).ok());
    return media.media_id();
  }
  grpc::Status ReadMedia(const Who& who, const std::string& id) {
    v1::GetMediaRequest get;
    get.set_media_id(id);
    auto ctx = Ctx(who);
    auto reader = stub_->GetMedia(ctx.get(), get);
    cityhub::api::HttpBody piece;
    while (reader->Read(&piece)) {
    }
    return reader->Finish();
  }
  // Every value Redis holds (strings, lists, sets, hashes, sorted sets, streams), concatenated:
  // to show that a text is stored nowhere.
  std::string EverythingStored() {
    std::string all;
    auto keys = client().Command({"KEYS", "*"});
    EXPECT_TRUE(keys.ok());
    for (const auto& k : keys->elements()) {
      auto type = client().Command({"TYPE", k.str()});
      const std::string t = type->str();
      infra::redis::Args read;
      if (t == "string") read = {"GET", k.str()};
      if (t == "list") read = {"LRANGE", k.str(), "0", "-1"};
      if (t == "set") read = {"SMEMBERS", k.str()};
      if (t == "hash") read = {"HGETALL", k.str()};
      if (t == "zset") read = {"ZRANGE", k.str(), "0", "-1"};
      if (t == "stream") read = {"XRANGE", k.str(), "-", "+"};
      if (read.empty()) continue;
      auto v = client().Command(read);
      EXPECT_TRUE(v.ok());
      std::function<void(const infra::redis::Reply&)> walk = [&](const infra::redis::Reply& r) {
        if (r.is_array()) {
          for (const auto& e : r.elements()) walk(e);
        } else if (!r.is_nil() && !r.is_integer()) {
          all += r.str();
          all += '\n';
        }
      };
      walk(*v);
    }
    return all;
  }
};

}  // namespace cityhub::requests::moderation_testing
