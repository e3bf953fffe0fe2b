// A test-only gRPC server built on the service bootstrap, with one generic method,
// /cityhub.testing.Sleep/Sleep, that sleeps for the number of milliseconds in its payload and
// echoes it. Used to test graceful draining and configuration errors of the bootstrap.
#include <cstdio>
#include <string>
#include <thread>

#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/server_callback.h>

#include "infra/grpc/server.h"
#include "infra/log.h"
#include "infra/service_config.h"

namespace {

class SleepReactor final : public grpc::ServerGenericBidiReactor {
 public:
  SleepReactor() { StartRead(&request_); }

  void OnReadDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "no request"));
      return;
    }
    std::vector<grpc::Slice> slices;
    (void)request_.Dump(&slices);
    std::string payload;
    for (const auto& s : slices) payload.append(reinterpret_cast<const char*>(s.begin()), s.size());
    const int ms = std::atoi(payload.c_str());
    std::thread([this, ms, payload] {
      std::this_thread::sleep_for(std::chrono::milliseconds(ms));
      grpc::Slice slice(payload);
      response_ = grpc::ByteBuffer(&slice, 1);
      StartWriteAndFinish(&response_, grpc::WriteOptions(), grpc::Status::OK);
    }).detach();
  }

  void OnDone() override { delete this; }

 private:
  grpc::ByteBuffer request_;
  grpc::ByteBuffer response_;
};

class SleepService final : public grpc::CallbackGenericService {
  grpc::ServerGenericBidiReactor* CreateReactor(grpc::GenericCallbackServerContext* ctx) override {
    if (ctx->method() != "/cityhub.testing.Sleep/Sleep") {
      class Reject final : public grpc::ServerGenericBidiReactor {
       public:
        Reject() { Finish(grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "no such method")); }
        void OnDone() override { delete this; }
      };
      return new Reject();
    }
    return new SleepReactor();
  }
};

}  // namespace

int main() {
  using namespace cityhub::infra;
  BlockShutdownSignals();
  EnvReader env;
  CommonConfig config = LoadCommonConfig(env, {"sleep", "127.0.0.1:0", "off"});
  if (auto status = env.Finish(); !status.ok()) {
    std::fprintf(stderr, "sleep_server: %s\n", std::string(status.message()).c_str());
    return 2;
  }
  log::Init("sleep", config.log_level);
  MetricsRegistry metrics;
  GrpcServer server(config.server, metrics);
  SleepService service;
  server.AddGenericService(&service);
  if (auto status = server.Start(); !status.ok()) {
    log::Error("start_failed", {{"error", status.message()}});
    return 1;
  }
  server.Run();
  return 0;
}
