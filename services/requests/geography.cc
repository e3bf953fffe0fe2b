#include "services/requests/geography.h"

#include <set>
#include <utility>

#include "infra/strings.h"
#include "infra/text.h"
#include "nlohmann/json.hpp"
#include "services/requests/catalogue.h"

namespace cityhub::requests {

namespace {

using nlohmann::json;

absl::Status Invalid(const std::string& field, std::string_view problem) {
  return absl::InvalidArgumentError(infra::StrCat(field, ": ", problem));
}

absl::StatusOr<json> ParseJson(std::string_view text, std::string_view what) {
  // Districts nest a geometry in a feature in a collection; nothing deeper is needed.
  if (!NestingWithin(text, 32)) return Invalid(std::string(what), "nested too deeply");
  json parsed = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return Invalid(std::string(what), "not valid JSON");
  return parsed;
}

// A name: a string of 1..100 characters without control characters.
absl::StatusOr<std::string> Name(const json& properties, const std::string& field,
                                 const char* key) {
  const auto it = properties.find(key);
  const std::string name = infra::StrCat(field, ".", key);
  if (it == properties.end() || !it->is_string()) return Invalid(name, "required, a text");
  const std::string& text = it->get_ref<const std::string&>();
  if (auto problem = infra::CheckText(text, 1, 100, false)) return Invalid(name, *problem);
  return text;
}

// Whether `object` has "type": `type` (nlohmann's value() would throw on another JSON type).
bool HasType(const json& object, std::string_view type) {
  if (!object.is_object()) return false;
  const auto it = object.find("type");
  return it != object.end() && it->is_string() && it->get_ref<const std::string&>() == type;
}

absl::Status OnlyKeys(const json& object, const std::string& field,
                      std::initializer_list<std::string_view> allowed) {
  for (const auto& [key, value] : object.items()) {
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      return Invalid(infra::StrCat(field, ".", key), "unknown field");
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<District> ParseDistrict(const json& feature, const std::string& field) {
  if (!HasType(feature, "Feature")) {
    return Invalid(field, "a GeoJSON Feature is required");
  }
  if (auto s = OnlyKeys(feature, field, {"type", "properties", "geometry", "id", "bbox"}); !s.ok())
    return s;
  const auto properties = feature.find("properties");
  if (properties == feature.end() || !properties->is_object()) {
    return Invalid(field + ".properties", "required, an object");
  }
  const std::string props = field + ".properties";
  if (auto s = OnlyKeys(*properties, props, {"district_id", "name_de", "name_en"}); !s.ok())
    return s;
  const auto id = properties->find("district_id");
  if (id == properties->end() || !id->is_string() ||
      !infra::IsSlug(id->get_ref<const std::string&>(), 64)) {
    return Invalid(props + ".district_id", "1-64 characters a-z, 0-9, _ or -");
  }
  const auto geometry = feature.find("geometry");
  if (geometry == feature.end()) return Invalid(field + ".geometry", "required");
  auto area = Area::FromJson(*geometry, field + ".geometry");
  if (!area.ok()) return area.status();
  District d{id->get<std::string>(), "", "", *std::move(area)};
  auto de = Name(*properties, props, "name_de");
  if (!de.ok()) return de.status();
  auto en = Name(*properties, props, "name_en");
  if (!en.ok()) return en.status();
  d.name_de = *std::move(de);
  d.name_en = *std::move(en);
  return d;
}

}  // namespace

absl::StatusOr<std::vector<District>> ParseDistricts(std::string_view text) {
  auto parsed = ParseJson(text, "districts");
  if (!parsed.ok()) return parsed.status();
  const json& doc = *parsed;
  if (!HasType(doc, "FeatureCollection")) {
    return Invalid("type", "a GeoJSON FeatureCollection is required");
  }
  if (auto s = OnlyKeys(doc, "districts", {"type", "features", "bbox"}); !s.ok()) return s;
  const auto features = doc.find("features");
  if (features == doc.end() || !features->is_array()) {
    return Invalid("features", "required, an array");
  }
  if (features->size() > kMaxDistricts) {
    return Invalid("features", infra::StrCat("at most ", kMaxDistricts, " districts"));
  }
  std::vector<District> out;
  std::set<std::string> ids;
  size_t vertices = 0;
  for (size_t i = 0; i < features->size(); ++i) {
    const std::string field = infra::StrCat("features[", i, "]");
    auto district = ParseDistrict((*features)[i], field);
    if (!district.ok()) return district.status();
    if (!ids.insert(district->id).second) {
      return Invalid(field + ".properties.district_id", "used by an earlier district");
    }
    vertices += district->area.vertex_count();
    if (vertices > kMaxDistrictVertices) {
      return Invalid("features", infra::StrCat("more than ", kMaxDistrictVertices,
                                               " positions in all districts"));
    }
    out.push_back(*std::move(district));
  }
  return out;
}

std::string DistrictsToJson(const std::vector<District>& districts) {
  json features = json::array();
  for (const auto& d : districts) {
    features.push_back(
        {{"type", "Feature"},
         {"properties", {{"district_id", d.id}, {"name_de", d.name_de}, {"name_en", d.name_en}}},
         {"geometry", d.area.ToJson()}});
  }
  return json{{"type", "FeatureCollection"}, {"features", features}}.dump();
}

absl::StatusOr<std::vector<RoutingRule>> ParseRoutingRules(std::string_view text) {
  auto parsed = ParseJson(text, "rules");
  if (!parsed.ok()) return parsed.status();
  if (!parsed->is_array()) return Invalid("rules", "a JSON array of rules is required");
  if (parsed->size() > kMaxRoutingRules) {
    return Invalid("rules", infra::StrCat("at most ", kMaxRoutingRules, " rules"));
  }
  std::vector<RoutingRule> out;
  std::set<std::pair<std::string, std::string>> seen;
  for (size_t i = 0; i < parsed->size(); ++i) {
    const json& rule = (*parsed)[i];
    const std::string field = infra::StrCat("rules[", i, "]");
    if (!rule.is_object()) return Invalid(field, "a rule is an object");
    if (auto s = OnlyKeys(rule, field, {"service_code", "district", "department"}); !s.ok())
      return s;
    RoutingRule r;
    for (auto [key, target] :
         {std::pair{"service_code", &r.service_code}, std::pair{"district", &r.district},
          std::pair{"department", &r.department}}) {
      const auto it = rule.find(key);
      if (it == rule.end() || it->is_null()) continue;
      if (!it->is_string()) return Invalid(infra::StrCat(field, ".", key), "must be a text");
      *target = it->get<std::string>();
    }
    if (r.department.empty()) return Invalid(field + ".department", "required");
    if (!infra::IsSlug(r.department, 64)) {
      return Invalid(field + ".department", "1-64 characters a-z, 0-9, _ or -");
    }
    if (!r.service_code.empty() && !IsServiceCode(r.service_code)) {
      return Invalid(field + ".service_code", "malformed");
    }
    if (!r.district.empty() && !infra::IsSlug(r.district, 64)) {
      return Invalid(field + ".district", "1-64 characters a-z, 0-9, _ or -");
    }
    if (r.service_code.empty() && r.district.empty()) {
      return Invalid(field + ".service_code", "a rule names a service_code, a district or both");
    }
    if (!seen.emplace(r.service_code, r.district).second) {
      return Invalid(field, "an earlier rule has the same service_code and district");
    }
    out.push_back(std::move(r));
  }
  return out;
}

std::string RoutingRulesToJson(const std::vector<RoutingRule>& rules) {
  json out = json::array();
  for (const auto& r : rules) {
    out.push_back(
        {{"service_code", r.service_code}, {"district", r.district}, {"department", r.department}});
  }
  return out.dump();
}

std::string GeographySnapshot::DistrictOf(double lat, double lon) const {
  for (const auto& d : districts) {
    if (d.area.Contains(lat, lon)) return d.id;
  }
  return "";
}

std::string GeographySnapshot::DepartmentFor(std::string_view service_code,
                                             std::string_view district,
                                             const std::string& category_department) const {
  const RoutingRule* by_district = nullptr;
  const RoutingRule* by_category = nullptr;
  for (const auto& r : rules) {
    const bool code_fits = r.service_code == service_code;
    const bool district_fits = !district.empty() && r.district == district;
    if (code_fits && district_fits) return r.department;
    if (r.service_code.empty() && district_fits && by_district == nullptr) by_district = &r;
    if (code_fits && r.district.empty() && by_category == nullptr) by_category = &r;
  }
  if (by_district != nullptr) return by_district->department;
  if (by_category != nullptr) return by_category->department;
  return category_department;
}

absl::StatusOr<std::shared_ptr<const GeographySnapshot>> SnapshotOf(const StoredGeography& stored) {
  auto s = std::make_shared<GeographySnapshot>();
  s->version = stored.version;
  if (!stored.boundary.empty()) {
    auto area = Area::Parse(stored.boundary, "boundary");
    if (!area.ok()) return absl::DataLossError(area.status().message());
    s->boundary = *std::move(area);
    s->boundary_json = stored.boundary;
  }
  if (!stored.districts.empty()) {
    auto districts = ParseDistricts(stored.districts);
    if (!districts.ok()) return absl::DataLossError(districts.status().message());
    s->districts = *std::move(districts);
    s->districts_json = stored.districts;
  }
  if (!stored.rules.empty()) {
    auto rules = ParseRoutingRules(stored.rules);
    if (!rules.ok()) return absl::DataLossError(rules.status().message());
    s->rules = *std::move(rules);
    s->rules_json = stored.rules;
  }
  return s;
}

absl::StatusOr<std::shared_ptr<const GeographySnapshot>> Geography::Current(
    const std::string& jurisdiction) {
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mu_);
  auto it = entries_.find(jurisdiction);
  if (it != entries_.end() && now - it->second.checked < recheck_) return it->second.snapshot;
  if (it != entries_.end()) {
    auto version = store_.Version(jurisdiction);
    if (!version.ok()) return version.status();
    if (*version == it->second.snapshot->version) {
      it->second.checked = now;
      return it->second.snapshot;
    }
  }
  auto stored = store_.Load(jurisdiction);
  if (!stored.ok()) return stored.status();
  auto snapshot = SnapshotOf(*stored);
  if (!snapshot.ok()) return snapshot.status();
  entries_[jurisdiction] = {*snapshot, now};
  return *snapshot;
}

absl::StatusOr<std::shared_ptr<const GeographySnapshot>> Geography::Reload(
    const std::string& jurisdiction) {
  {
    std::lock_guard lock(mu_);
    entries_.erase(jurisdiction);
  }
  return Current(jurisdiction);
}

}  // namespace cityhub::requests
