#include "clients/cityctl/catalogue.h"

#include <cmath>
#include <map>
#include <regex>
#include <set>
#include <stdexcept>

#include <yaml-cpp/yaml.h>

namespace cityhub::cityctl {
namespace {

using json = nlohmann::json;

const std::set<std::string>& InputFields() {
  static const auto* fields = new std::set<std::string>{
      "service_code", "jurisdiction_id", "names",          "descriptions", "group",   "keywords",
      "department",   "sla_hours",       "details_public", "attributes",   "notices", "active"};
  return *fields;
}

bool IsOutputOnly(const std::string& key) {
  return key == "name" || key == "description" || key == "service_notice";
}

json Scalar(const YAML::Node& node) {
  const std::string text = node.Scalar();
  if (node.Tag() == "!") return text;  // quoted: always a string
  if (text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL") {
    return nullptr;
  }
  if (text == "true" || text == "True" || text == "TRUE") return true;
  if (text == "false" || text == "False" || text == "FALSE") return false;
  static const std::regex kInt("[-+]?[0-9]+");
  static const std::regex kFloat("[-+]?([0-9]+\\.?[0-9]*|\\.[0-9]+)([eE][-+]?[0-9]+)?");
  if (std::regex_match(text, kInt)) {
    try {
      return std::stoll(text);
    } catch (const std::out_of_range&) {
      return text;
    }
  }
  if (std::regex_match(text, kFloat)) return std::stod(text);
  return text;
}

json ToJson(const YAML::Node& node, int depth) {
  if (depth > 32) throw std::runtime_error("nested deeper than 32 levels");
  switch (node.Type()) {
    case YAML::NodeType::Map: {
      json out = json::object();
      for (const auto& item : node) {
        out[item.first.as<std::string>()] = ToJson(item.second, depth + 1);
      }
      return out;
    }
    case YAML::NodeType::Sequence: {
      json out = json::array();
      for (const auto& item : node) out.push_back(ToJson(item, depth + 1));
      return out;
    }
    case YAML::NodeType::Scalar:
      return Scalar(node);
    default:
      return nullptr;
  }
}

bool IsEmpty(const json& v) {
  if (v.is_null()) return true;
  if (v.is_string()) return v.get<std::string>().empty();
  if (v.is_boolean()) return !v.get<bool>();
  if (v.is_number()) return v.get<double>() == 0;
  if (v.is_array()) return v.empty();
  if (v.is_object()) {
    for (const auto& [key, item] : v.items()) {
      if (!IsEmpty(item)) return false;
    }
    return true;
  }
  return false;
}

// Removes the server's output-only texts inside attributes and their values.
json WithoutOutputOnly(json service) {
  for (const std::string key : {"name", "description", "service_notice"}) service.erase(key);
  if (service.contains("attributes") && service["attributes"].is_array()) {
    for (json& attribute : service["attributes"]) {
      if (!attribute.is_object()) continue;
      attribute.erase("description");
      if (attribute.contains("values") && attribute["values"].is_array()) {
        for (json& value : attribute["values"]) {
          if (value.is_object()) value.erase("name");
        }
      }
    }
  }
  return service;
}

std::string Compact(const json& v) {
  std::string text = v.dump(-1, ' ', false, json::error_handler_t::replace);
  if (text.size() > 200) text = text.substr(0, 199) + "…";
  return text;
}

}  // namespace

json YamlToJson(const std::string& text) {
  try {
    return ToJson(YAML::Load(text), 0);
  } catch (const YAML::Exception& e) {
    throw std::runtime_error("line " + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
}

std::vector<json> CatalogueServices(const json& document) {
  const json* list = &document;
  if (document.is_object()) {
    if (!document.contains("services") || document.size() != 1) {
      throw std::runtime_error("expected a list of services or {services: [...]}");
    }
    list = &document["services"];
  }
  if (!list->is_array()) throw std::runtime_error("services: expected a list");
  if (list->size() > kMaxCatalogueServices) {
    throw std::runtime_error("services: more than " + std::to_string(kMaxCatalogueServices));
  }
  static const std::regex kCode("[A-Za-z0-9_.-]{1,64}");
  std::vector<json> out;
  std::set<std::string> seen;
  for (size_t i = 0; i < list->size(); ++i) {
    const json& item = (*list)[i];
    const std::string where = "services[" + std::to_string(i) + "]";
    if (!item.is_object()) throw std::runtime_error(where + ": expected an object");
    for (const auto& [key, value] : item.items()) {
      if (!InputFields().count(key) && !IsOutputOnly(key)) {
        throw std::runtime_error(where + "." + key + ": not a field of a service");
      }
    }
    const json code = item.value("service_code", json());
    if (!code.is_string() || !std::regex_match(code.get<std::string>(), kCode)) {
      throw std::runtime_error(where + ".service_code: required, 1-64 of A-Z a-z 0-9 _ . -");
    }
    if (!seen.insert(code.get<std::string>()).second) {
      throw std::runtime_error(where + ".service_code: " + code.get<std::string>() + " twice");
    }
    out.push_back(WithoutOutputOnly(item));
  }
  return out;
}

bool SameValue(const json& want, const json& have) {
  if (IsEmpty(want) && IsEmpty(have)) return true;
  if (want.is_object() && have.is_object()) {
    std::set<std::string> keys;
    for (const auto& [key, v] : want.items()) keys.insert(key);
    for (const auto& [key, v] : have.items()) keys.insert(key);
    for (const std::string& key : keys) {
      if (IsOutputOnly(key) && !want.contains(key)) continue;
      if (!SameValue(want.value(key, json()), have.value(key, json()))) return false;
    }
    return true;
  }
  if (want.is_array() && have.is_array()) {
    if (want.size() != have.size()) return false;
    for (size_t i = 0; i < want.size(); ++i) {
      if (!SameValue(want[i], have[i])) return false;
    }
    return true;
  }
  if (want.is_number() && have.is_number()) return want.get<double>() == have.get<double>();
  // 64-bit integers arrive as strings.
  if (want.is_number() && have.is_string()) return Compact(want) == have.get<std::string>();
  return want == have;
}

std::vector<Change> PlanCatalogue(const std::vector<json>& desired, const json& current_services,
                                  bool prune) {
  std::map<std::string, json> current;
  for (const json& s : current_services) {
    current[s.value("service_code", "")] = WithoutOutputOnly(s);
  }
  std::vector<Change> plan;
  std::set<std::string> listed;
  for (const json& want : desired) {
    const std::string code = want["service_code"];
    listed.insert(code);
    const auto it = current.find(code);
    if (it == current.end()) {
      Change change{Change::Kind::kCreate, code, want, {}, {"+ " + code + " (new)"}};
      for (const auto& [key, value] : want.items()) {
        if (key != "service_code") change.diff.push_back("    " + key + ": " + Compact(value));
      }
      plan.push_back(std::move(change));
      continue;
    }
    Change change{Change::Kind::kUpdate, code, json::object(), {}, {"~ " + code}};
    for (const auto& [key, value] : want.items()) {
      if (key == "service_code" || key == "jurisdiction_id") continue;
      const json have = it->second.value(key, json());
      if (SameValue(value, have)) continue;
      change.body[key] = value;
      change.fields.push_back(key);
      change.diff.push_back("    " + key + ": " + Compact(have) + " -> " + Compact(value));
    }
    if (!change.fields.empty()) plan.push_back(std::move(change));
  }
  if (prune) {
    for (const auto& [code, have] : current) {
      if (listed.count(code) || !have.value("active", false)) continue;
      plan.push_back(Change{Change::Kind::kDeactivate,
                            code,
                            {{"active", false}},
                            {"active"},
                            {"- " + code + " (not in the file)", "    active: true -> false"}});
    }
  }
  return plan;
}

}  // namespace cityhub::cityctl
