#pragma once

#include <string>

#include <google/protobuf/message.h>

// FROZEN BASELINE for the benchmark (gateway/json_writer_bench.cc) and the equivalence test
// only: the JSON writer as it was before per-type plans, field names escaped per call and
// well-known types found by comparing names. Same output as WriteJson in json_writer.h.
namespace cityhub::gateway::baseline {

std::string WriteJson(const google::protobuf::Message& message);

}  // namespace cityhub::gateway::baseline
