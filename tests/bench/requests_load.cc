// Load client for the requests service over gRPC, and a seeder for its Redis.
//
//   requests_load seed  --redis 127.0.0.1:6379 --count 100000 --ids ids.txt
//   requests_load get   --target 127.0.0.1:7002 --ids ids.txt --concurrency 32 --seconds 10
//   requests_load near  --target 127.0.0.1:7002 --concurrency 32 --seconds 10 --radius 500
//   requests_load health --target 127.0.0.1:7002 --concurrency 32 --seconds 10
//       (grpc.health.v1 Check: what any unary call costs on that server, the gRPC floor)
//
// Load runs print one line: mode, calls, errors, calls/s, p50/p90/p99/max in ms. Calls are
// issued on one completion queue from one thread, `concurrency` in flight at any time.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include "cityhub/requests/v1/requests.grpc.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "infra/config.h"
#include "infra/ids.h"
#include "infra/redis/client.h"
#include "infra/runtime.h"
#include "services/requests/request_store.h"

namespace {

namespace v1 = cityhub::requests::v1;
using Clock = std::chrono::steady_clock;

std::map<std::string, std::string> Flags(int argc, char** argv) {
  std::map<std::string, std::string> flags;
  for (int i = 2; i + 1 < argc; i += 2) flags[std::string(argv[i]).substr(2)] = argv[i + 1];
  return flags;
}

constexpr double kMinLat = 51.95, kMaxLat = 52.08, kMinLon = 8.43, kMaxLon = 8.62;

int Seed(std::map<std::string, std::string>& f) {
  const int count = std::stoi(f["count"]);
  cityhub::infra::redis::Options options;
  cityhub::infra::SplitHostPort(f["redis"], &options.host, &options.port);
  options.pool_size = 8;
  cityhub::infra::redis::Client redis(options);
  cityhub::requests::RequestStore store(redis);
  const char* codes[] = {"streetlight",  "pothole",         "illegal_dumping", "graffiti",
                         "damaged_sign", "overflowing_bin", "playground",      "tree"};
  const char* departments[] = {"street-lighting", "roads", "waste", "cleaning",
                               "roads",           "waste", "parks", "parks"};
  std::vector<std::string> ids(count);
  std::atomic<int> next{0}, failed{0};
  const auto start = std::chrono::system_clock::now() - std::chrono::hours(24 * 80);
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937_64 rng(t);
      std::uniform_real_distribution<double> lat(kMinLat, kMaxLat), lon(kMinLon, kMaxLon);
      for (int i = next++; i < count; i = next++) {
        // Spread over 80 days, as a city's backlog would be.
        const auto when =
            start + std::chrono::milliseconds(static_cast<int64_t>(i) * 80 * 86'400'000LL / count);
        cityhub::storage::requests::StoredRequest r;
        r.set_id(cityhub::infra::NewUlid(when));
        r.set_jurisdiction_id("bielefeld.de");
        r.set_service_code(codes[i % 8]);
        r.set_department(departments[i % 8]);
        r.set_status(1 + (i % 7));
        r.set_has_location(true);
        r.set_lat(lat(rng));
        r.set_long_(lon(rng));
        r.set_address("Niederwall 23, 33602 Bielefeld");
        r.set_zipcode("33602");
        r.set_description(
            "Die Laterne vor dem Haus ist seit Tagen dunkel, abends ist der Gehweg kaum zu sehen.");
        google::protobuf::Struct answers;
        (*answers.mutable_fields())["problem"].set_string_value("dark");
        r.set_attributes(answers.SerializeAsString());
        const int64_t ms = cityhub::infra::UnixMillis(when);
        r.set_requested_ms(ms);
        r.set_updated_ms(ms);
        r.set_expected_ms(ms + 120 * 3'600'000LL);
        if (i % 3 == 0) r.set_account_id(cityhub::infra::NewUlid(when));
        r.set_source("app");
        if (!store.Create(r, {}, "", std::chrono::seconds(0)).ok()) ++failed;
        ids[i] = r.id();
      }
    });
  }
  for (auto& t : threads) t.join();
  std::ofstream out(f["ids"]);
  for (const auto& id : ids) out << id << "\n";
  std::printf("seeded %d requests (%d failed)\n", count, failed.load());
  return failed.load() == 0 ? 0 : 1;
}

struct Stats {
  std::vector<double> latencies_ms;
  int64_t errors = 0;
};

// One call slot on the completion queue: issues a call, and when the queue hands its answer
// back, records it and issues the next. All slots are driven by one thread (the cheapest way to
// load a server with gRPC's C++ API: no callback threads to hand work between).
class Slot {
 public:
  Slot(v1::RequestsService::Stub* stub, grpc::health::v1::Health::Stub* health,
       grpc::CompletionQueue* cq, const std::string& mode, const std::vector<std::string>* ids,
       double radius, uint64_t seed)
      : stub_(stub),
        health_(health),
        cq_(cq),
        mode_(mode),
        ids_(ids),
        radius_(radius),
        rng_(seed) {}

  void Start() {
    ctx_ = std::make_unique<grpc::ClientContext>();
    ctx_->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    start_ = Clock::now();
    if (mode_ == "get") {
      got_.Clear();
      get_.set_request_id((*ids_)[rng_() % ids_->size()]);
      get_rpc_ = stub_->PrepareAsyncGetRequest(ctx_.get(), get_, cq_);
      get_rpc_->StartCall();
      get_rpc_->Finish(&got_, &status_, this);
    } else if (mode_ == "health") {
      health_rpc_ = health_->PrepareAsyncCheck(ctx_.get(), check_, cq_);
      health_rpc_->StartCall();
      health_rpc_->Finish(&checked_, &status_, this);
    } else {
      listed_.Clear();
      std::uniform_real_distribution<double> lat(kMinLat + 0.01, kMaxLat - 0.01),
          lon(kMinLon + 0.01, kMaxLon - 0.01);
      near_.set_lat(lat(rng_));
      near_.set_long_(lon(rng_));
      near_.set_radius_m(radius_);
      near_.set_page_size(20);
      list_rpc_ = stub_->PrepareAsyncListRequests(ctx_.get(), near_, cq_);
      list_rpc_->StartCall();
      list_rpc_->Finish(&listed_, &status_, this);
    }
  }

  // The call finished: records it.
  void Record(Stats& stats) {
    if (status_.ok()) {
      stats.latencies_ms.push_back(
          std::chrono::duration<double, std::milli>(Clock::now() - start_).count());
    } else {
      ++stats.errors;
    }
  }

 private:
  v1::RequestsService::Stub* stub_;
  grpc::health::v1::Health::Stub* health_;
  grpc::CompletionQueue* cq_;
  std::string mode_;
  const std::vector<std::string>* ids_;
  double radius_;
  std::mt19937_64 rng_;
  std::unique_ptr<grpc::ClientContext> ctx_;
  grpc::Status status_;
  Clock::time_point start_;
  v1::GetRequestRequest get_;
  v1::ServiceRequest got_;
  std::unique_ptr<grpc::ClientAsyncResponseReader<v1::ServiceRequest>> get_rpc_;
  v1::ListRequestsRequest near_;
  v1::ListRequestsResponse listed_;
  std::unique_ptr<grpc::ClientAsyncResponseReader<v1::ListRequestsResponse>> list_rpc_;
  grpc::health::v1::HealthCheckRequest check_;
  grpc::health::v1::HealthCheckResponse checked_;
  std::unique_ptr<grpc::ClientAsyncResponseReader<grpc::health::v1::HealthCheckResponse>>
      health_rpc_;
};

int Load(const std::string& mode, std::map<std::string, std::string>& f) {
  std::vector<std::string> ids;
  if (mode == "get") {
    std::ifstream in(f["ids"]);
    for (std::string line; std::getline(in, line);) {
      if (!line.empty()) ids.push_back(line);
    }
    if (ids.empty()) {
      std::fprintf(stderr, "no ids in %s\n", f["ids"].c_str());
      return 2;
    }
  }
  const int concurrency = std::stoi(f.count("concurrency") ? f["concurrency"] : "32");
  const double seconds = std::stod(f.count("seconds") ? f["seconds"] : "10");
  const double radius = std::stod(f.count("radius") ? f["radius"] : "500");
  // A few channels, so that calls spread over more than one HTTP/2 connection.
  std::vector<std::unique_ptr<v1::RequestsService::Stub>> stubs;
  std::vector<std::unique_ptr<grpc::health::v1::Health::Stub>> health_stubs;
  const int channels = std::stoi(f.count("channels") ? f["channels"] : "1");
  for (int c = 0; c < channels; ++c) {
    grpc::ChannelArguments args;
    args.SetInt("grpc.channel_id", c);  // distinct channels, not one shared subchannel
    auto channel = grpc::CreateCustomChannel(f["target"], grpc::InsecureChannelCredentials(), args);
    stubs.push_back(v1::RequestsService::NewStub(channel));
    health_stubs.push_back(grpc::health::v1::Health::NewStub(channel));
  }
  // Warm up the connections.
  for (auto& stub : stubs) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    v1::ListServicesResponse out;
    stub->ListServices(&ctx, {}, &out);
  }
  Stats stats;
  grpc::CompletionQueue cq;
  const auto start = Clock::now();
  const auto end =
      start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  std::vector<std::unique_ptr<Slot>> slots;
  for (int i = 0; i < concurrency; ++i) {
    slots.push_back(std::make_unique<Slot>(stubs[i % stubs.size()].get(),
                                           health_stubs[i % stubs.size()].get(), &cq, mode, &ids,
                                           radius, i));
    slots.back()->Start();
  }
  for (int in_flight = concurrency; in_flight > 0;) {
    void* tag = nullptr;
    bool ok = false;
    if (!cq.Next(&tag, &ok)) break;
    auto* slot = static_cast<Slot*>(tag);
    slot->Record(stats);
    if (Clock::now() < end) {
      slot->Start();
    } else {
      --in_flight;
    }
  }
  cq.Shutdown();
  void* tag = nullptr;
  bool ok = false;
  while (cq.Next(&tag, &ok)) {
  }
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  auto& l = stats.latencies_ms;
  std::sort(l.begin(), l.end());
  auto pct = [&](double p) {
    return l.empty() ? 0.0 : l[std::min(l.size() - 1, static_cast<size_t>(p * l.size()))];
  };
  std::printf("%s calls=%zu errors=%lld rps=%.0f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f\n",
              mode.c_str(), l.size(), static_cast<long long>(stats.errors), l.size() / elapsed,
              pct(0.50), pct(0.90), pct(0.99), l.empty() ? 0.0 : l.back());
  return stats.errors == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  cityhub::infra::TuneRuntime();  // as the services do: the client's cost is part of the figure
  if (argc < 2) {
    std::fprintf(stderr, "usage: requests_load seed|get|near --flag value ...\n");
    return 2;
  }
  const std::string mode = argv[1];
  auto flags = Flags(argc, argv);
  if (mode == "seed") return Seed(flags);
  if (mode == "get" || mode == "near" || mode == "health") return Load(mode, flags);
  std::fprintf(stderr, "unknown mode %s\n", mode.c_str());
  return 2;
}
