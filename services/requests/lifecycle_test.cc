#include "services/requests/lifecycle.h"

#include <gtest/gtest.h>

namespace cityhub::requests {
namespace {

namespace v1 = cityhub::requests::v1;

TEST(Lifecycle, FollowsTheDocumentedPaths) {
  EXPECT_TRUE(CanTransition(v1::SUBMITTED, v1::ACKNOWLEDGED));
  EXPECT_TRUE(CanTransition(v1::ACKNOWLEDGED, v1::IN_PROGRESS));
  EXPECT_TRUE(CanTransition(v1::IN_PROGRESS, v1::RESOLVED));
  EXPECT_TRUE(CanTransition(v1::RESOLVED, v1::CLOSED));
  EXPECT_TRUE(CanTransition(v1::RESOLVED, v1::IN_PROGRESS));  // reopen
  EXPECT_TRUE(CanTransition(v1::SUBMITTED, v1::REJECTED));
  EXPECT_TRUE(CanTransition(v1::IN_PROGRESS, v1::DUPLICATE));
  EXPECT_TRUE(CanTransition(v1::DUPLICATE, v1::CLOSED));
}

TEST(Lifecycle, RefusesEverythingElse) {
  EXPECT_FALSE(CanTransition(v1::SUBMITTED, v1::RESOLVED));
  EXPECT_FALSE(CanTransition(v1::SUBMITTED, v1::CLOSED));
  EXPECT_FALSE(CanTransition(v1::CLOSED, v1::IN_PROGRESS));
  EXPECT_FALSE(CanTransition(v1::REJECTED, v1::IN_PROGRESS));
  EXPECT_FALSE(CanTransition(v1::ACKNOWLEDGED, v1::ACKNOWLEDGED));
  EXPECT_FALSE(CanTransition(v1::STATUS_UNSPECIFIED, v1::SUBMITTED));
}

TEST(Lifecycle, OpenMeansTheFirstThree) {
  EXPECT_TRUE(IsOpen(v1::SUBMITTED));
  EXPECT_TRUE(IsOpen(v1::IN_PROGRESS));
  EXPECT_FALSE(IsOpen(v1::RESOLVED));
  EXPECT_FALSE(IsOpen(v1::DUPLICATE));
}

}  // namespace
}  // namespace cityhub::requests
