// Encoding the gateway's biggest common answer, a page of 20 requests (and one request), as
// JSON: the writer (per-type plans), its frozen baseline (the writer before #16) and protobuf's
// MessageToJsonString with the API's options, in one run. Figures in docs/bench.md.
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include <benchmark/benchmark.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/time_util.h>

#include "cityhub/requests/v1/requests.pb.h"
#include "gateway/json_writer.h"
#include "gateway/json_writer_baseline.h"

namespace cityhub::gateway {
namespace {

namespace rv1 = cityhub::requests::v1;
using google::protobuf::util::TimeUtil;

// A request as the public list shows it: texts with umlauts, a position, three timestamps,
// attributes, two photos and a history of three changes.
rv1::ServiceRequest RealisticRequest(int i) {
  constexpr int64_t kBase = 1764043585;  // 2025-11-25
  rv1::ServiceRequest r;
  r.set_request_id("01JDQ4Z8W3F6T7Y9A0B1C2D3E" + std::to_string(i % 10));
  r.set_jurisdiction_id("bielefeld.de");
  r.set_service_code("streetlight");
  r.set_service_name("Straßenbeleuchtung defekt");
  r.set_status(rv1::IN_PROGRESS);
  r.set_status_notes("Der Auftrag ist an die Stadtwerke übergeben.");
  r.set_description(
      "Die Laterne vor Hausnummer 12 flackert seit Tagen und geht nachts ganz aus. Der Gehweg "
      "ist dann völlig dunkel, besonders für Kinder auf dem Schulweg gefährlich.");
  r.set_lat(52.021123 + i * 0.0001);
  r.set_long_(8.534789 - i * 0.0001);
  r.set_address("Niederwall 23, 33602 Bielefeld");
  r.set_address_id("DENW" + std::to_string(100000 + i));
  r.set_zipcode("33602");
  r.add_media_ids("01JDQ50000000000000000MED" + std::to_string(i % 10));
  r.add_media_ids("01JDQ50000000000000000MEE" + std::to_string(i % 10));
  r.add_media_urls("/v1/media/01JDQ50000000000000000MED" + std::to_string(i % 10));
  r.add_media_urls("/v1/media/01JDQ50000000000000000MEE" + std::to_string(i % 10));
  *r.mutable_requested_at() = TimeUtil::MillisecondsToTimestamp((kBase + i * 3600) * 1000 + 123);
  *r.mutable_updated_at() = TimeUtil::SecondsToTimestamp(kBase + i * 3600 + 86400);
  *r.mutable_expected_at() = TimeUtil::SecondsToTimestamp(kBase + i * 3600 + 3 * 86400);
  r.set_department("Amt für Verkehr");
  r.set_service_notice("Meldungen werden werktags innerhalb von 48 Stunden bearbeitet.");
  auto& fields = *r.mutable_attributes()->mutable_fields();
  fields["lamp_number"].set_string_value("L-" + std::to_string(4711 + i));
  fields["lamps_out"].set_number_value(2);
  fields["blinking"].set_bool_value(true);
  r.set_follower_count(i % 7);
  r.set_district("mitte");
  const rv1::Status steps[] = {rv1::SUBMITTED, rv1::ACKNOWLEDGED, rv1::IN_PROGRESS};
  for (int k = 1; k < 3; ++k) {
    auto* h = r.add_history();
    h->set_from_status(steps[k - 1]);
    h->set_to_status(steps[k]);
    *h->mutable_at() = TimeUtil::MillisecondsToTimestamp((kBase + i * 3600 + k * 7200) * 1000);
    h->set_public_note(k == 1 ? "Danke, wir kümmern uns." : "Die Stadtwerke sind informiert.");
    h->set_kind("status");
  }
  return r;
}

rv1::ListRequestsResponse Page() {
  rv1::ListRequestsResponse page;
  for (int i = 0; i < 20; ++i) *page.add_requests() = RealisticRequest(i);
  page.set_next_page_token("01JDQ4Z8W3F6T7Y9A0B1C2D3E9");
  return page;
}

std::string ProtobufJson(const google::protobuf::Message& m) {
  google::protobuf::util::JsonPrintOptions options;  // as the API prints (json_writer_test)
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  std::string out;
  (void)google::protobuf::util::MessageToJsonString(m, &out, options);
  return out;
}

void Encode(benchmark::State& state, const google::protobuf::Message& m,
            std::string (*write)(const google::protobuf::Message&)) {
  size_t bytes = 0;
  for (auto _ : state) {
    std::string json = write(m);
    bytes += json.size();
    benchmark::DoNotOptimize(json);
  }
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
}

const rv1::ListRequestsResponse& ThePage() {
  static const auto* page = new rv1::ListRequestsResponse(Page());
  return *page;
}

const rv1::ServiceRequest& TheRequest() {
  static const auto* request = new rv1::ServiceRequest(RealisticRequest(3));
  return *request;
}

void Register(int64_t iterations) {
  const struct {
    const char* name;
    std::string (*write)(const google::protobuf::Message&);
  } kWriters[] = {{"Plans", WriteJson},
                  {"Baseline", baseline::WriteJson},
                  {"MessageToJsonString", ProtobufJson}};
  for (const auto& [what, message] :
       {std::pair<const char*, const google::protobuf::Message*>{"Page", &ThePage()},
        {"Request", &TheRequest()}}) {
    for (const auto& writer : kWriters) {
      auto* b = benchmark::RegisterBenchmark(
          (std::string("BM_") + what + "_" + writer.name).c_str(),
          [write = writer.write, message](benchmark::State& s) { Encode(s, *message, write); });
      if (iterations > 0) b->Iterations(iterations);
    }
  }
}

}  // namespace
}  // namespace cityhub::gateway

// `--iterations=N`: exactly N iterations of each (for callgrind, whose counts do not depend on
// the machine's load), else Google Benchmark's own timing.
int main(int argc, char** argv) {
  int64_t iterations = 0;
  int kept = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg.starts_with("--iterations=")) {
      iterations = std::stoll(std::string(arg.substr(13)));
    } else {
      argv[kept++] = argv[i];
    }
  }
  argc = kept;
  cityhub::gateway::Register(iterations);
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
}
