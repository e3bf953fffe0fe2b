#pragma once

// The parts of the OpenAPI document (openapi.cc) kept apart: the schemas of protobuf messages
// (openapi_schemas.cc) and the paths described by hand (openapi_paths.cc).
#include <set>
#include <string>

#include <google/protobuf/descriptor.h>
#include <nlohmann/json.hpp>

#include "cityhub/api/annotations.pb.h"

namespace cityhub::gateway::openapi {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using nlohmann::json;

// Requests and answers see different schemas of one message: a request leaves out output-only
// fields, refuses unknown ones and requires what the service requires; an answer carries every
// field without presence (the gateway prints defaults), so those are all required there.
enum class Direction { kInput, kOutput };

const cityhub::api::FieldRule& RuleOf(const FieldDescriptor* f);
// A message's component name: its full name with "_" for ".".
std::string SchemaName(const Descriptor* d);

// The schemas of messages, enums and fields (following protobuf's JSON mapping), collected as
// named components.
class Schemas {
 public:
  // `outputs`: the messages some answer carries, whose request-side schema needs its own name.
  explicit Schemas(std::set<const Descriptor*> outputs) : outputs_(std::move(outputs)) {}

  json& components() { return components_; }

  // The schema of one value of a field (an item, for repeated fields).
  json ValueSchema(const FieldDescriptor* f, Direction dir);
  json FieldSchema(const FieldDescriptor* f, Direction dir);
  // A reference to a named enum (so that clients get a named type). The zero value means "not
  // given": answers may carry it, requests never need it, so requests see a schema without it.
  json EnumSchema(const google::protobuf::EnumDescriptor* e, Direction dir);
  // A reference to (or, for well-known types, the inline schema of) a message. `omit`: fields
  // bound by the path, left out of a request body.
  json MessageSchema(const Descriptor* d, Direction dir, const std::set<std::string>& omit = {});

 private:
  std::string ComponentName(const Descriptor* d, Direction dir) const;
  // Protobuf's JSON forms of the well-known types; null for other messages.
  static json WellKnown(const Descriptor* d);

  std::set<const Descriptor*> outputs_;
  json components_ = json::object();
  std::set<std::string> done_;
};

// Every message reachable from `d` (answers' messages, for naming request-side schemas).
void CollectMessages(const Descriptor* d, std::set<const Descriptor*>* out);

json JsonContent(json schema);
json Parameter(std::string name, std::string in, bool required, json schema,
               std::string description);
json String();

// The operational routes, outside the contracts: described by hand.
void AddOperationalPaths(json* paths);
// Open311 GeoReport v2 (the gateway's adapter, not a contract): each resource in .json and .xml.
void AddOpen311Paths(json* paths, json* schemas);

}  // namespace cityhub::gateway::openapi
