#include "gateway/errors.h"

#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace cityhub::gateway {
namespace {

using grpc::StatusCode;

// The gRPC → HTTP table of the design, every code.
TEST(HttpStatusFor, MapsEveryGrpcCodeAsTheDesignSays) {
  const std::vector<std::pair<StatusCode, int>> table = {
      {StatusCode::OK, 200},
      {StatusCode::CANCELLED, 499},
      {StatusCode::UNKNOWN, 500},
      {StatusCode::INVALID_ARGUMENT, 400},
      {StatusCode::DEADLINE_EXCEEDED, 504},
      {StatusCode::NOT_FOUND, 404},
      {StatusCode::ALREADY_EXISTS, 409},
      {StatusCode::PERMISSION_DENIED, 403},
      {StatusCode::RESOURCE_EXHAUSTED, 429},
      {StatusCode::FAILED_PRECONDITION, 400},
      {StatusCode::ABORTED, 409},
      {StatusCode::OUT_OF_RANGE, 400},
      {StatusCode::UNIMPLEMENTED, 501},
      {StatusCode::INTERNAL, 500},
      {StatusCode::UNAVAILABLE, 503},
      {StatusCode::DATA_LOSS, 500},
      {StatusCode::UNAUTHENTICATED, 401},
  };
  ASSERT_EQ(table.size(), 17u);  // every code of grpc::StatusCode
  for (const auto& [code, http] : table)
    EXPECT_EQ(HttpStatusFor(code), http) << "gRPC code " << code;
}

TEST(ErrorResponse, CarriesTheGrpcCodeAndMessageInTheCommonBody) {
  const HttpResponse r =
      ErrorResponse(grpc::Status(StatusCode::ABORTED, "the request changed \"meanwhile\""));
  EXPECT_EQ(r.status, 409);
  ASSERT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(r.headers[0],
            std::make_pair(std::string("Content-Type"), std::string("application/json")));
  const auto body = nlohmann::json::parse(r.body);
  EXPECT_EQ(body["code"], 10);
  EXPECT_EQ(body["message"], "the request changed \"meanwhile\"");
  EXPECT_EQ(body["details"], nlohmann::json::array());
}

TEST(ErrorResponse, HidesTheDetailOfInternalErrors) {
  for (StatusCode code : {StatusCode::INTERNAL, StatusCode::UNKNOWN, StatusCode::DATA_LOSS}) {
    const HttpResponse r =
        ErrorResponse(grpc::Status(code, "redis at 10.0.0.7:6379: wrong type for key x"));
    EXPECT_EQ(r.status, 500);
    const auto body = nlohmann::json::parse(r.body);
    EXPECT_EQ(body["code"], static_cast<int>(code));
    EXPECT_EQ(body["message"], "internal error");
    EXPECT_EQ(r.body.find("redis"), std::string::npos);
  }
  // Unavailable and timed-out calls carry transport detail: the caller gets a generic text.
  for (const auto& [code, detail] : std::vector<std::pair<StatusCode, std::string>>{
           {StatusCode::UNAVAILABLE,
            "failed to connect to all addresses; last error: ipv4:10.0.0.7:7002"},
           {StatusCode::UNAVAILABLE, "redis: cannot connect to redis:6379"},
           {StatusCode::DEADLINE_EXCEEDED, "Deadline Exceeded at 10.0.0.7:7002"}}) {
    const HttpResponse r = ErrorResponse(grpc::Status(code, detail));
    EXPECT_EQ(r.body.find("10.0.0.7"), std::string::npos) << r.body;
    EXPECT_EQ(r.body.find("redis"), std::string::npos) << r.body;
    EXPECT_EQ(nlohmann::json::parse(r.body)["code"], static_cast<int>(code));
  }
  // Other codes keep their message: it tells the caller what to fix.
  EXPECT_EQ(nlohmann::json::parse(
                ErrorResponse(grpc::Status(StatusCode::INVALID_ARGUMENT, "lat: out of range"))
                    .body)["message"],
            "lat: out of range");
  EXPECT_EQ(nlohmann::json::parse(
                ErrorResponse(grpc::Status(StatusCode::RESOURCE_EXHAUSTED,
                                           "daily limit of mails reached; try again tomorrow"))
                    .body)["message"],
            "daily limit of mails reached; try again tomorrow");
}

}  // namespace
}  // namespace cityhub::gateway
