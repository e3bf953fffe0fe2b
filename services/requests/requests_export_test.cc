// The open-data export's cap on exports open at once (#15), over the requests service's real
// gRPC server and a real Redis: past CITYHUB_OPEN_DATA_MAX_EXPORTS an export is refused with
// RESOURCE_EXHAUSTED and retry-after (the gateway's 429 + Retry-After), and a slot frees when an
// export ends.
#include <memory>
#include <string>

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "services/requests/requests_test_fixture.h"

namespace cityhub::requests {
namespace {

constexpr int kRequests = 2000;

class ExportCapTest : public RequestsServiceTest {
 protected:
  void SetUp() override {
    settings_.max_exports = 1;
    RequestsServiceTest::SetUp();
  }

  // A client whose HTTP/2 window stays small (no BDP probing), so that an export it does not
  // read stalls in the server once ~64 KiB are in flight, and keeps its slot.
  std::unique_ptr<v1::RequestsService::Stub> SlowReader() const {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
    args.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 16 * 1024);
    // Its own connection: the other calls must not share (and unblock) its window.
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    return v1::RequestsService::NewStub(grpc::CreateCustomChannel(
        "127.0.0.1:" + std::to_string(server_->port()), grpc::InsecureChannelCredentials(), args));
  }

  static v1::ExportRequestsRequest Csv() {
    v1::ExportRequestsRequest req;
    req.set_format("csv");
    return req;
  }
};

TEST_F(ExportCapTest, PastTheCapAnExportIsRefusedWithRetryAfterUntilTheOpenOneEnds) {
  // 2 000 requests of ~3.9 KB text: a page of ~8 MB, more than gRPC lets a client buffer unread.
  for (int i = 0; i < kRequests; ++i) {
    auto req = NewRequest("pothole", 52.0211 + (i % 100) * 1e-4, 8.5325);
    req.set_description("Schlagloch " + std::to_string(i) + " " + std::string(3900, 'a' + i % 26));
    File(Resident("resident-" + std::to_string(i)), req);
  }

  // The first export starts and is not read past its first piece: it keeps its slot.
  auto slow = SlowReader();
  grpc::ClientContext first_ctx;
  auto first = slow->ExportRequests(&first_ctx, Csv());
  cityhub::api::HttpBody piece;
  ASSERT_TRUE(first->Read(&piece));
  EXPECT_EQ(piece.content_type().rfind("text/csv", 0), 0u) << piece.content_type();

  // A second, meanwhile, is refused at once, saying when to come back.
  {
    grpc::ClientContext ctx;
    auto second = stub_->ExportRequests(&ctx, Csv());
    cityhub::api::HttpBody body;
    while (second->Read(&body)) {
    }
    const grpc::Status s = second->Finish();
    EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
    const auto& trailers = ctx.GetServerTrailingMetadata();
    const auto retry = trailers.find("retry-after");
    ASSERT_NE(retry, trailers.end());
    EXPECT_EQ(std::string(retry->second.data(), retry->second.size()), "5");
  }

  // The first, read to its end, is whole: every request once (a header line + a row each, each
  // request's text on its row).
  std::string csv = piece.data();
  while (first->Read(&piece)) csv += piece.data();
  ASSERT_TRUE(first->Finish().ok());
  for (int i = 0; i < kRequests; ++i) {
    EXPECT_THAT(csv, ::testing::HasSubstr("Schlagloch " + std::to_string(i) + " ")) << i;
  }

  // Its slot is free again: the next export goes through.
  grpc::ClientContext third_ctx;
  auto third = stub_->ExportRequests(&third_ctx, Csv());
  size_t bytes = 0;
  while (third->Read(&piece)) bytes += piece.data().size();
  const grpc::Status s = third->Finish();
  EXPECT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(bytes, csv.size());
}

}  // namespace
}  // namespace cityhub::requests
