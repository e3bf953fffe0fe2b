#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace cityhub::cityctl {

// The declarative catalogue of `cityctl services apply`: a file lists categories as the API's
// Service objects (a list, or `{services: [...]}` as `services list -o json|yaml` prints it).

inline constexpr size_t kMaxCatalogueBytes = 4u << 20;
inline constexpr size_t kMaxCatalogueServices = 500;

// YAML text (JSON is YAML too) as JSON. Plain scalars become booleans, numbers and null where
// YAML's core schema reads them so; quoted scalars stay strings. Throws std::runtime_error with
// the line on a syntax error.
nlohmann::json YamlToJson(const std::string& text);

// The services of a parsed catalogue file, checked: a list of objects, each with a valid
// `service_code`, no code twice, only Service fields. Output-only fields (`name`, `description`,
// `service_notice`, and `description`/`name` inside attributes and values) are dropped so that a
// file printed by `services list` applies as it is. Throws std::runtime_error naming the place.
std::vector<nlohmann::json> CatalogueServices(const nlohmann::json& document);

// One step that brings the server's catalogue to the file.
struct Change {
  enum class Kind { kCreate, kUpdate, kDeactivate };
  Kind kind;
  std::string service_code;
  nlohmann::json body;              // the POST body, or the PATCH body with only changed fields
  std::vector<std::string> fields;  // the PATCH's changed top-level fields (its update_mask)
  std::vector<std::string> diff;    // human-readable lines
};

// What to do: create the file's categories the server lacks, update those that differ in a field
// the file names (fields the file leaves out are not touched) and, with `prune`, deactivate
// active categories the file does not list. Nothing when they already match.
std::vector<Change> PlanCatalogue(const std::vector<nlohmann::json>& desired,
                                  const nlohmann::json& current_services, bool prune);

// Whether the file's value `want` matches the server's `have`: missing keys and empty values
// ("", 0, false, [], {}, null) are the same, and output-only keys are ignored.
bool SameValue(const nlohmann::json& want, const nlohmann::json& have);

}  // namespace cityhub::cityctl
