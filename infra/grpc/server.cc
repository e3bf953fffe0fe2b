#include "infra/grpc/server.h"

#include <pthread.h>
#include <signal.h>

#include <array>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>
#include <grpcpp/support/server_interceptor.h>

#include "infra/grpc/context.h"
#include "infra/http/metrics_server.h"
#include "infra/ids.h"
#include "infra/log.h"
#include "infra/status.h"
#include "infra/strings.h"

namespace cityhub::infra {
namespace {

using grpc::experimental::InterceptionHookPoints;

// The health service name whose status is readiness (see SetReadinessCheck).
constexpr char kReadiness[] = "readiness";

constexpr std::string_view kCodeNames[] = {
    "OK",        "CANCELLED",      "UNKNOWN",           "INVALID_ARGUMENT",   "DEADLINE_EXCEEDED",
    "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
    "ABORTED",   "OUT_OF_RANGE",   "UNIMPLEMENTED",     "INTERNAL",           "UNAVAILABLE",
    "DATA_LOSS", "UNAUTHENTICATED"};

std::string_view CodeName(int code) {
  return code >= 0 && code < 17 ? kCodeNames[code] : "UNKNOWN";
}

struct CallMetrics {
  Family<Counter>* handled;
  Family<Histogram>* latency;
  Family<Gauge>* in_flight;
};

// The metric children of one method, looked up once.
struct MethodMetrics {
  Histogram* latency;
  Gauge* in_flight;
  std::array<Counter*, 17> handled;  // by status code
};

// One per call: makes sure the call has a request id (the caller's, if acceptable, or a new
// ULID), echoes it in the initial metadata, and writes one log line and the metrics at the end.
class CallInterceptor final : public grpc::experimental::Interceptor {
 public:
  CallInterceptor(grpc::experimental::ServerRpcInfo* info, const MethodMetrics& metrics)
      : method_(info->method()), metrics_(metrics), start_(std::chrono::steady_clock::now()) {
    metrics_.in_flight->Inc();
  }

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_INITIAL_METADATA)) {
      auto* md = methods->GetRecvInitialMetadata();
      auto it = md->find(kRequestIdKey);
      if (it != md->end() &&
          IsValidRequestId(std::string_view(it->second.data(), it->second.size()))) {
        request_id_.assign(it->second.data(), it->second.size());
      } else {
        if (it != md->end()) md->erase(it);
        request_id_ =
            NewTraceId(std::chrono::system_clock::now());  // not a secret: no RAND_bytes per call
        md->emplace(kRequestIdKey, request_id_);           // string_refs into this interceptor
      }
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_INITIAL_METADATA)) {
      if (!request_id_.empty())
        methods->GetSendInitialMetadata()->emplace(kRequestIdKey, request_id_);
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      code_ = static_cast<int>(methods->GetSendStatus().error_code());
      sent_status_ = true;
    }
    methods->Proceed();
  }

  ~CallInterceptor() override {
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    const int code = sent_status_ ? code_ : static_cast<int>(grpc::StatusCode::CANCELLED);
    metrics_.handled[code >= 0 && code < 17 ? code : 2]->Inc();
    metrics_.latency->Observe(seconds);
    metrics_.in_flight->Dec();  // last: a call no longer in flight is counted
    log::Info("rpc", {{"request_id", request_id_},
                      {"method", method_},
                      {"code", CodeName(code)},
                      {"latency_ms", seconds * 1000.0}});
  }

 private:
  std::string method_;
  const MethodMetrics& metrics_;
  std::chrono::steady_clock::time_point start_;
  std::string request_id_;
  int code_ = 0;
  bool sent_status_ = false;
};

class CallInterceptorFactory final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit CallInterceptorFactory(MetricsRegistry& registry)
      : metrics_{
            &registry.AddCounter("grpc_server_handled_total",
                                 "RPCs completed, by method and status code", {"method", "code"}),
            &registry.AddHistogram("grpc_server_handling_seconds",
                                   "RPC latency from start to status", {"method"}),
            &registry.AddGauge("grpc_server_in_flight", "RPCs being served", {"method"})} {}

  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    // The health service is polled constantly; keep it out of the logs and metrics.
    if (std::string_view(info->method()).starts_with("/grpc.health.v1.")) return nullptr;
    return new CallInterceptor(info, ForMethod(info->method()));
  }

 private:
  const MethodMetrics& ForMethod(const char* method) {
    std::lock_guard lock(mu_);
    auto it = methods_.find(method);
    if (it != methods_.end()) return *it->second;
    auto m = std::make_unique<MethodMetrics>();
    m->latency = &metrics_.latency->WithLabels({method});
    m->in_flight = &metrics_.in_flight->WithLabels({method});
    for (int c = 0; c < 17; ++c) {
      m->handled[c] = &metrics_.handled->WithLabels({method, std::string(CodeName(c))});
    }
    return *methods_.emplace(method, std::move(m)).first->second;
  }

  CallMetrics metrics_;
  std::mutex mu_;
  std::map<std::string, std::unique_ptr<MethodMetrics>, std::less<>> methods_;
};

}  // namespace

void BlockShutdownSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

GrpcServer::GrpcServer(ServerOptions options, MetricsRegistry& metrics)
    : options_(std::move(options)), metrics_(metrics) {}

GrpcServer::~GrpcServer() {
  StopReadiness();
  if (server_) {
    server_->Shutdown(std::chrono::system_clock::now());
    server_->Wait();
  }
}

void GrpcServer::AddService(grpc::Service* service) { services_.push_back(service); }

void GrpcServer::AddGenericService(grpc::CallbackGenericService* service) {
  generic_services_.push_back(service);
}

void GrpcServer::SetReadinessCheck(std::function<bool()> check,
                                   std::chrono::milliseconds interval) {
  readiness_check_ = std::move(check);
  readiness_interval_ = interval;
}

void GrpcServer::StopReadiness() {
  if (!readiness_thread_.joinable()) return;
  readiness_thread_.request_stop();
  readiness_thread_.join();
}

int GrpcServer::metrics_port() const { return metrics_server_ ? metrics_server_->port() : 0; }

absl::Status GrpcServer::Start() {
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(options_.listen_address, ServerCredentials(options_.tls), &port_);
  builder.SetMaxReceiveMessageSize(options_.max_receive_message_bytes);
  for (grpc::Service* s : services_) builder.RegisterService(s);
  for (grpc::CallbackGenericService* s : generic_services_)
    builder.RegisterCallbackGenericService(s);
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> factories;
  factories.push_back(std::make_unique<CallInterceptorFactory>(metrics_));
  builder.experimental().SetInterceptorCreators(std::move(factories));
  server_ = builder.BuildAndStart();
  if (!server_ || port_ == 0) {
    server_.reset();
    return absl::UnavailableError(
        StrCat("cannot listen on ", options_.listen_address, " for gRPC",
               options_.tls.enabled() ? " (or the TLS certificate and key are unusable)" : ""));
  }
  server_->GetHealthCheckService()->SetServingStatus(true);
  server_->GetHealthCheckService()->SetServingStatus(kReadiness, true);
  if (readiness_check_) {
    readiness_thread_ = std::jthread([this](std::stop_token stop) {
      std::mutex mu;
      std::condition_variable_any cv;
      bool ready = true;
      while (!stop.stop_requested()) {
        const bool now_ready = readiness_check_();
        if (now_ready != ready) {
          ready = now_ready;
          server_->GetHealthCheckService()->SetServingStatus(kReadiness, ready);
          log::Warn(ready ? "ready again" : "not ready", {{"check", "readiness"}});
        }
        std::unique_lock lock(mu);
        cv.wait_for(lock, stop, readiness_interval_, [] { return false; });
      }
    });
  }
  if (!options_.metrics_address.empty()) {
    ASSIGN_OR_RETURN(metrics_server_, MetricsServer::Start(options_.metrics_address, metrics_));
  }
  log::Info("started", {{"grpc_port", port_},
                        {"metrics_port", metrics_port()},
                        {"tls", !options_.tls.enabled()            ? "off"
                                : options_.tls.require_client_cert ? "mutual"
                                                                   : "on"}});
  return absl::OkStatus();
}

void GrpcServer::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_requested_ = true;
  }
  cv_.notify_all();
}

void GrpcServer::Run() {
  // A helper thread turns SIGTERM/SIGINT into Stop(); it polls so that it can also end when
  // Stop() came from elsewhere.
  std::atomic<bool> done{false};
  std::thread signal_waiter([this, &done] {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    const timespec tick{0, 100'000'000};
    while (!done.load()) {
      const int sig = sigtimedwait(&set, nullptr, &tick);
      if (sig == SIGTERM || sig == SIGINT) {
        log::Info("signal", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
        Stop();
        return;
      }
    }
  });
  {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [this] { return stop_requested_; });
  }
  done.store(true);
  signal_waiter.join();
  Drain();
}

void GrpcServer::Drain() {
  if (!server_) return;
  StopReadiness();
  server_->GetHealthCheckService()->SetServingStatus(false);
  log::Info("draining", {{"drain_delay_ms", options_.drain_delay.count()},
                         {"grace_ms", options_.grace.count()}});
  std::this_thread::sleep_for(options_.drain_delay);
  // Refuses new calls at once, lets in-flight calls run until the deadline, then cancels them.
  server_->Shutdown(std::chrono::system_clock::now() + options_.grace);
  server_->Wait();
  server_.reset();
  log::Info("stopped");
  log::Flush();
}

}  // namespace cityhub::infra
