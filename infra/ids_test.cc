#include "infra/ids.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <vector>

#include <gtest/gtest.h>

namespace cityhub::infra {
namespace {

using namespace std::chrono_literals;

TEST(Ulid, HasTwentySixCrockfordCharactersAndCarriesItsTime) {
  ManualClock clock(Clock::time_point(1'764'043'585'123ms));
  const std::string id = NewUlid(clock);
  ASSERT_EQ(id.size(), 26u);
  EXPECT_TRUE(IsUlid(id));
  EXPECT_EQ(id.find_first_not_of("0123456789ABCDEFGHJKMNPQRSTVWXYZ"), std::string::npos);
  EXPECT_EQ(UlidTime(id), clock.Now());
}

TEST(Ulid, LaterIdsSortAfterEarlierOnes) {
  ManualClock clock;
  std::string previous = NewUlid(clock);
  for (int i = 0; i < 1000; ++i) {
    clock.Advance(1ms);
    const std::string next = NewUlid(clock);
    EXPECT_LT(previous, next);
    previous = next;
  }
}

TEST(Ulid, IdsInTheSameMillisecondAreDistinct) {
  ManualClock clock;
  std::set<std::string> ids;
  for (int i = 0; i < 10000; ++i) ids.insert(NewUlid(clock));
  EXPECT_EQ(ids.size(), 10000u);
}

TEST(Ulid, IdsOfOneMillisecondSortInTheOrderTheyWereMade) {
  const auto t =
      std::chrono::system_clock::time_point(std::chrono::milliseconds(1'764'600'000'000));
  std::vector<std::string> ids;
  for (int i = 0; i < 1000; ++i) ids.push_back(NewUlid(t));
  EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end()));
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), ids.size());
  for (const auto& id : ids) EXPECT_EQ(UlidTime(id), t);
}

TEST(Ulid, RejectsMalformedIds) {
  EXPECT_FALSE(IsUlid(""));
  EXPECT_FALSE(IsUlid("01ARZ3NDEKTSV4RRFFQ69G5FA"));     // 25 characters
  EXPECT_FALSE(IsUlid("01ARZ3NDEKTSV4RRFFQ69G5FAVU"));   // 27
  EXPECT_FALSE(IsUlid("01ARZ3NDEKTSV4RRFFQ69G5FAU"));    // U is not Crockford
  EXPECT_FALSE(IsUlid("81ARZ3NDEKTSV4RRFFQ69G5FAV"));    // overflows 128 bits
  EXPECT_TRUE(IsUlid("41JDQ4Z8W3F6T7Y9A0B1C2D3E5"));     // after 2262: an id all the same,
  EXPECT_FALSE(UlidTime("41JDQ4Z8W3F6T7Y9A0B1C2D3E5"));  // but beyond a time_point
  EXPECT_TRUE(IsUlid("01ARZ3NDEKTSV4RRFFQ69G5FAV"));
}

TEST(Base64Url, RoundTripsEveryLength) {
  for (size_t n = 0; n < 40; ++n) {
    const std::string data = RandomBytes(n);
    const std::string text = Base64UrlEncode(data);
    EXPECT_EQ(text.find_first_of("+/="), std::string::npos);
    EXPECT_EQ(Base64UrlDecode(text), data);
  }
}

TEST(Base64Url, RejectsNonCanonicalAndForeignCharacters) {
  EXPECT_EQ(Base64UrlDecode("Zg"), "f");
  EXPECT_FALSE(Base64UrlDecode("Zh").has_value());  // stray low bits
  EXPECT_FALSE(Base64UrlDecode("Zm9v+").has_value());
  EXPECT_FALSE(Base64UrlDecode("Z").has_value());
  EXPECT_FALSE(Base64UrlDecode("Zg==").has_value());
}

TEST(RandomToken, HasTheRequestedEntropy) {
  const std::string token = RandomToken(32);
  EXPECT_EQ(token.size(), 43u);
  EXPECT_NE(RandomToken(32), token);
}

TEST(Sha256, MatchesAKnownVector) {
  EXPECT_EQ(HexEncode(Sha256("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(ConstantTimeEquals, ComparesContentAndLength) {
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abcd"));
}

}  // namespace
}  // namespace cityhub::infra

namespace cityhub::infra {
namespace {

TEST(UlidSortScore, OrdersLikeTheIdsAndIsExact) {
  ManualClock clock;
  std::string previous = NewUlid(clock);
  for (int i = 0; i < 2000; ++i) {
    if (i % 3 == 0) clock.Advance(std::chrono::milliseconds(1));
    const std::string next = NewUlid(clock);
    if (UlidSortScore(previous) != UlidSortScore(next)) {
      EXPECT_EQ(UlidSortScore(previous) < UlidSortScore(next), previous < next);
    }
    previous = next;
  }
  const double score = UlidSortScore(previous);
  EXPECT_EQ(score, std::floor(score));
  EXPECT_LT(score, 9007199254740992.0);  // 2^53: exact in a double
  EXPECT_EQ(static_cast<int64_t>(score) / 4096, UnixMillis(*UlidTime(previous)));
}

TEST(TraceId, IsAUlidOfItsTimeAndDoesNotRepeat) {
  const auto t =
      std::chrono::system_clock::time_point(std::chrono::milliseconds(1'764'600'000'123));
  std::set<std::string> seen;
  for (int i = 0; i < 10'000; ++i) {
    const std::string id = NewTraceId(t);
    ASSERT_TRUE(IsUlid(id)) << id;
    EXPECT_EQ(UlidTime(id), t);
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 10'000u);
}

}  // namespace
}  // namespace cityhub::infra
