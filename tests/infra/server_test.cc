// The gRPC bootstrap as a real process: health, draining on SIGTERM, request ids, metrics and
// configuration errors.
#include <signal.h>

#include <future>

#include <gmock/gmock.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/security/credentials.h>
#include <gtest/gtest.h>

#include "tests/harness/health.h"
#include "tests/harness/http.h"
#include "tests/harness/process.h"

namespace cityhub::testing {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

struct CallResult {
  grpc::Status status;
  std::string payload;
  std::string request_id;
};

// Calls the sleep server's generic method; blocks until the answer.
CallResult CallSleep(const std::string& address, int ms, const std::string& request_id = "") {
  auto channel = grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
  grpc::GenericStub stub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + 20s);
  if (!request_id.empty()) ctx.AddMetadata("x-request-id", request_id);
  grpc::Slice slice(std::to_string(ms));
  grpc::ByteBuffer request(&slice, 1);
  grpc::ByteBuffer response;
  std::promise<grpc::Status> done;
  stub.UnaryCall(&ctx, "/cityhub.testing.Sleep/Sleep", grpc::StubOptions(), &request, &response,
                 [&](grpc::Status s) { done.set_value(s); });
  CallResult result;
  result.status = done.get_future().get();
  std::vector<grpc::Slice> slices;
  if (result.status.ok() && response.Dump(&slices).ok()) {
    for (const auto& s : slices)
      result.payload.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  const auto& md = ctx.GetServerInitialMetadata();
  if (auto it = md.find("x-request-id"); it != md.end()) {
    result.request_id.assign(it->second.data(), it->second.size());
  }
  return result;
}

class SleepServer {
 public:
  explicit SleepServer(std::map<std::string, std::string> env = {})
      : dir_(MakeTempDir("cityhub-sleep")), port_(FreePort()), metrics_port_(FreePort()) {
    env.emplace("CITYHUB_SLEEP_ADDR", address());
    env.emplace("CITYHUB_SLEEP_METRICS_ADDR", "127.0.0.1:" + std::to_string(metrics_port_));
    process_ = std::make_unique<Process>(
        Process::Options{{BuildPath("tests/infra/sleep_server")}, env, dir_ + "/log"});
  }
  ~SleepServer() {
    process_.reset();
    RemoveTree(dir_);
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  int metrics_port() const { return metrics_port_; }
  Process& process() { return *process_; }

 private:
  std::string dir_;
  int port_;
  int metrics_port_;
  std::unique_ptr<Process> process_;
};

TEST(GrpcServer, IsServingAfterStart) {
  SleepServer server;
  ASSERT_TRUE(WaitForServing(server.address(), 10s)) << server.process().Log();
  const CallResult r = CallSleep(server.address(), 1);
  EXPECT_TRUE(r.status.ok()) << r.status.error_message();
  EXPECT_EQ(r.payload, "1");
}

TEST(GrpcServer, OnSigtermHealthTurnsNotServingAndAnInFlightCallCompletes) {
  SleepServer server({{"CITYHUB_DRAIN_DELAY", "2s"}, {"CITYHUB_SHUTDOWN_GRACE", "10s"}});
  ASSERT_TRUE(WaitForServing(server.address(), 10s)) << server.process().Log();

  auto slow = std::async(std::launch::async, [&] { return CallSleep(server.address(), 4000); });
  // Wait until the server has the call in flight.
  const std::string metrics =
      "http://127.0.0.1:" + std::to_string(server.metrics_port()) + "/metrics";
  ASSERT_TRUE(WaitFor(
      [&] {
        return HttpRequest("GET", metrics)
                   .body.find("grpc_server_in_flight{method=\"/cityhub.testing.Sleep/Sleep\"} 1") !=
               std::string::npos;
      },
      5s));
  server.process().Signal(SIGTERM);

  // Health turns NOT_SERVING at once and stays so for the drain delay (2 s).
  EXPECT_TRUE(WaitFor([&] { return HealthStatus(server.address()) == "NOT_SERVING"; }, 1500ms))
      << server.process().Log();
  const CallResult result = slow.get();
  EXPECT_TRUE(result.status.ok()) << result.status.error_message();
  EXPECT_EQ(result.payload, "4000");
  EXPECT_EQ(server.process().Wait(10s), std::optional<int>(0)) << server.process().Log();
  const std::string log = server.process().Log();
  EXPECT_THAT(log, HasSubstr("\"event\":\"draining\""));
  EXPECT_THAT(log, HasSubstr("\"event\":\"stopped\""));
}

TEST(GrpcServer, RequestIdsAreEchoedOrGeneratedAndLogged) {
  SleepServer server;
  ASSERT_TRUE(WaitForServing(server.address(), 10s));
  const CallResult given = CallSleep(server.address(), 0, "req-123");
  EXPECT_EQ(given.request_id, "req-123");
  const CallResult generated = CallSleep(server.address(), 0);
  EXPECT_EQ(generated.request_id.size(), 26u);  // a ULID
  const CallResult bad = CallSleep(server.address(), 0, "has spaces and \"quotes\"");
  EXPECT_EQ(bad.request_id.size(), 26u);
  server.process().Stop();
  const std::string log = server.process().Log();
  EXPECT_THAT(log,
              HasSubstr("\"request_id\":\"req-123\",\"method\":\"/cityhub.testing.Sleep/Sleep\""));
  EXPECT_THAT(log, HasSubstr("\"code\":\"OK\""));
}

TEST(GrpcServer, ServesPrometheusMetrics) {
  SleepServer server;
  ASSERT_TRUE(WaitForServing(server.address(), 10s));
  CallSleep(server.address(), 0);
  const std::string base = "http://127.0.0.1:" + std::to_string(server.metrics_port());
  // The call is counted when the server has finished with it, which may be just after the
  // client has its answer.
  HttpResponse metrics;
  EXPECT_TRUE(WaitFor(
      [&] {
        metrics = HttpRequest("GET", base + "/metrics");
        return metrics.body.find(
                   "grpc_server_in_flight{method=\"/cityhub.testing.Sleep/Sleep\"} 0") !=
               std::string::npos;
      },
      5s))
      << metrics.body;
  EXPECT_EQ(metrics.status, 200) << metrics.error;
  EXPECT_THAT(metrics.header("content-type"), HasSubstr("text/plain; version=0.0.4"));
  const std::string& response = metrics.body;
  EXPECT_THAT(
      response,
      HasSubstr(
          "grpc_server_handled_total{method=\"/cityhub.testing.Sleep/Sleep\",code=\"OK\"} 1"));
  EXPECT_THAT(response, HasSubstr("grpc_server_handling_seconds_bucket{method=\"/"
                                  "cityhub.testing.Sleep/Sleep\",le=\"+Inf\"} 1"));
  EXPECT_EQ(HttpRequest("GET", base + "/nope").status, 404);
  EXPECT_EQ(HttpRequest("POST", base + "/metrics").status, 405);
}

// Server reflection (grpcurl, grpc_cli, Postman) lists the services: asked over the real
// reflection protocol with hand-encoded messages, as the reflection protos are not installed.
TEST(GrpcServer, ReflectionListsTheServices) {
  SleepServer server;
  ASSERT_TRUE(WaitForServing(server.address(), 10s));
  auto channel = grpc::CreateChannel(server.address(), grpc::InsecureChannelCredentials());
  grpc::GenericStub stub(channel);
  grpc::CompletionQueue cq;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + 10s);
  auto call =
      stub.PrepareCall(&ctx, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", &cq);
  const auto step = [&](int tag) {
    void* got = nullptr;
    bool ok = false;
    return cq.Next(&got, &ok) && got == reinterpret_cast<void*>(tag) && ok;
  };
  call->StartCall(reinterpret_cast<void*>(1));
  ASSERT_TRUE(step(1));
  // ServerReflectionRequest { list_services (field 7) = "*" }
  const std::string request = std::string("\x3a\x01*", 3);
  grpc::Slice slice(request);
  grpc::ByteBuffer out(&slice, 1);
  call->Write(out, reinterpret_cast<void*>(2));
  ASSERT_TRUE(step(2));
  call->WritesDone(reinterpret_cast<void*>(3));
  ASSERT_TRUE(step(3));
  grpc::ByteBuffer in;
  call->Read(&in, reinterpret_cast<void*>(4));
  ASSERT_TRUE(step(4));
  grpc::Status status;
  call->Finish(&status, reinterpret_cast<void*>(5));
  ASSERT_TRUE(step(5));
  EXPECT_TRUE(status.ok()) << status.error_message();
  std::vector<grpc::Slice> slices;
  ASSERT_TRUE(in.Dump(&slices).ok());
  std::string response;
  for (const auto& s : slices) response.append(reinterpret_cast<const char*>(s.begin()), s.size());
  EXPECT_THAT(response, HasSubstr("grpc.health.v1.Health"));
  EXPECT_THAT(response, HasSubstr("grpc.reflection.v1alpha.ServerReflection"));
}

TEST(GrpcServer, ABadEnvironmentValueNamesTheVariableAndExitsNonZero) {
  const std::string dir = MakeTempDir("cityhub-badenv");
  Process process({{BuildPath("tests/infra/sleep_server")},
                   {{"CITYHUB_SLEEP_ADDR", "127.0.0.1:abc"}, {"CITYHUB_REDIS_POOL_SIZE", "many"}},
                   dir + "/log"});
  EXPECT_EQ(process.Wait(10s), std::optional<int>(2));
  const std::string log = process.Log();
  EXPECT_THAT(log, HasSubstr("CITYHUB_SLEEP_ADDR: '127.0.0.1:abc' is not host:port"));
  EXPECT_THAT(log, HasSubstr("CITYHUB_REDIS_POOL_SIZE: 'many' is not a whole number"));
  RemoveTree(dir);
}

}  // namespace
}  // namespace cityhub::testing
