#include "services/requests/catalogue.h"

#include <mutex>
#include <set>

#include "infra/status.h"
#include "infra/strings.h"
#include "infra/text.h"

namespace cityhub::requests {

using cityhub::storage::requests::StoredAttribute;
using infra::InvalidField;
using infra::StrCat;

namespace {

const std::string& Pick(std::string_view language, const std::string& de, const std::string& en) {
  return language == "en" && !en.empty() ? en : de;
}

absl::Status CheckOptionalText(const std::string& field, const std::string& text, size_t max) {
  if (auto problem = infra::CheckText(text, 0, max, true)) return InvalidField(field, *problem);
  return absl::OkStatus();
}

absl::Status CheckName(const std::string& field, const std::string& text, size_t max) {
  if (auto problem = infra::CheckText(text, 1, max, false)) return InvalidField(field, *problem);
  return absl::OkStatus();
}

bool IsAttributeCode(std::string_view code) {
  if (code.empty() || code.size() > 64) return false;
  for (char c : code) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-')) return false;
  }
  return true;
}

absl::StatusOr<StoredAttribute> AttributeFromApi(const v1::ServiceAttribute& a, int index) {
  const std::string field = StrCat("attributes[", index, "]");
  StoredAttribute out;
  if (!IsAttributeCode(a.code())) {
    return InvalidField(StrCat(field, ".code"),
                        "must be 1..64 characters of A-Z, a-z, 0-9, _ or -");
  }
  static const std::set<std::string> kTypes = {"string", "number",          "datetime",
                                               "text",   "singlevaluelist", "multivaluelist"};
  if (!kTypes.count(a.datatype())) {
    return InvalidField(
        StrCat(field, ".datatype"),
        "must be string, number, datetime, text, singlevaluelist or multivaluelist");
  }
  if (auto s = CheckOptionalText(StrCat(field, ".descriptions.de"), a.descriptions().de(), 500);
      !s.ok())
    return s;
  if (auto s = CheckOptionalText(StrCat(field, ".descriptions.en"), a.descriptions().en(), 500);
      !s.ok())
    return s;
  const bool is_list = a.datatype() == "singlevaluelist" || a.datatype() == "multivaluelist";
  if (is_list && (a.values_size() == 0 || a.values_size() > 100)) {
    return InvalidField(StrCat(field, ".values"), "a list needs 1..100 values");
  }
  if (!is_list && a.values_size() > 0) {
    return InvalidField(StrCat(field, ".values"), "only list attributes have values");
  }
  std::set<std::string> keys;
  for (int i = 0; i < a.values_size(); ++i) {
    const auto& v = a.values(i);
    const std::string vfield = StrCat(field, ".values[", i, "]");
    if (auto s = CheckName(StrCat(vfield, ".key"), v.key(), 64); !s.ok()) return s;
    if (!keys.insert(v.key()).second) return InvalidField(StrCat(vfield, ".key"), "appears twice");
    if (auto s = CheckName(StrCat(vfield, ".names.de"), v.names().de(), 100); !s.ok()) return s;
    if (auto s = CheckOptionalText(StrCat(vfield, ".names.en"), v.names().en(), 100); !s.ok())
      return s;
    auto* sv = out.add_values();
    sv->set_key(v.key());
    sv->set_name_de(v.names().de());
    sv->set_name_en(v.names().en());
  }
  out.set_code(a.code());
  out.set_datatype(a.datatype());
  out.set_required(a.required());
  out.set_order(a.order());
  out.set_description_de(a.descriptions().de());
  out.set_description_en(a.descriptions().en());
  out.set_variable(a.variable());
  return out;
}

}  // namespace

bool IsServiceCode(std::string_view code) {
  if (code.empty() || code.size() > 64) return false;
  for (char c : code) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.'))
      return false;
  }
  return true;
}

v1::Service ServiceToApi(const StoredService& s, std::string_view language) {
  v1::Service out;
  out.set_service_code(s.code());
  out.set_jurisdiction_id(s.jurisdiction_id());
  out.mutable_names()->set_de(s.name_de());
  out.mutable_names()->set_en(s.name_en());
  out.mutable_descriptions()->set_de(s.description_de());
  out.mutable_descriptions()->set_en(s.description_en());
  out.set_name(Pick(language, s.name_de(), s.name_en()));
  out.set_description(Pick(language, s.description_de(), s.description_en()));
  out.set_group(s.group());
  for (const auto& k : s.keywords()) out.add_keywords(k);
  out.set_department(s.department());
  out.set_sla_hours(s.sla_hours());
  out.set_details_public(s.details_public());
  out.mutable_notices()->set_de(s.notice_de());
  out.mutable_notices()->set_en(s.notice_en());
  out.set_service_notice(Pick(language, s.notice_de(), s.notice_en()));
  out.set_active(s.active());
  std::vector<const StoredAttribute*> attributes;
  for (const auto& a : s.attributes()) attributes.push_back(&a);
  std::stable_sort(attributes.begin(), attributes.end(),
                   [](const auto* a, const auto* b) { return a->order() < b->order(); });
  for (const StoredAttribute* a : attributes) {
    auto* oa = out.add_attributes();
    oa->set_code(a->code());
    oa->set_datatype(a->datatype());
    oa->set_required(a->required());
    oa->set_order(a->order());
    oa->mutable_descriptions()->set_de(a->description_de());
    oa->mutable_descriptions()->set_en(a->description_en());
    oa->set_description(Pick(language, a->description_de(), a->description_en()));
    oa->set_variable(a->variable());
    for (const auto& v : a->values()) {
      auto* ov = oa->add_values();
      ov->set_key(v.key());
      ov->mutable_names()->set_de(v.name_de());
      ov->mutable_names()->set_en(v.name_en());
      ov->set_name(Pick(language, v.name_de(), v.name_en()));
    }
  }
  return out;
}

absl::StatusOr<StoredService> ServiceFromApi(const v1::Service& s, std::string_view jurisdiction) {
  StoredService out;
  if (!IsServiceCode(s.service_code())) {
    return InvalidField("service_code", "must be 1..64 characters of A-Z, a-z, 0-9, _, . or -");
  }
  if (auto st = CheckName("names.de", s.names().de(), 100); !st.ok()) return st;
  if (auto st = CheckOptionalText("names.en", s.names().en(), 100); !st.ok()) return st;
  if (auto st = CheckOptionalText("descriptions.de", s.descriptions().de(), 1000); !st.ok())
    return st;
  if (auto st = CheckOptionalText("descriptions.en", s.descriptions().en(), 1000); !st.ok())
    return st;
  if (auto st = CheckOptionalText("group", s.group(), 100); !st.ok()) return st;
  if (auto st = CheckOptionalText("notices.de", s.notices().de(), 500); !st.ok()) return st;
  if (auto st = CheckOptionalText("notices.en", s.notices().en(), 500); !st.ok()) return st;
  if (s.keywords_size() > 20) return InvalidField("keywords", "at most 20");
  for (const auto& k : s.keywords()) {
    if (auto st = CheckName("keywords", k, 50); !st.ok()) return st;
    out.add_keywords(k);
  }
  if (!infra::IsSlug(s.department(), 64)) {
    return InvalidField("department", "must be 1..64 characters of a-z, 0-9, _ or -");
  }
  if (s.sla_hours() < 1 || s.sla_hours() > 8760) {
    return InvalidField("sla_hours", "must be 1..8760 (one year)");
  }
  if (s.attributes_size() > 30) return InvalidField("attributes", "at most 30");
  std::set<std::string> codes;
  for (int i = 0; i < s.attributes_size(); ++i) {
    ASSIGN_OR_RETURN(auto a, AttributeFromApi(s.attributes(i), i));
    if (!codes.insert(a.code()).second) {
      return InvalidField(StrCat("attributes[", i, "].code"), "appears twice");
    }
    *out.add_attributes() = std::move(a);
  }
  out.set_code(s.service_code());
  out.set_jurisdiction_id(std::string(jurisdiction));
  out.set_name_de(s.names().de());
  out.set_name_en(s.names().en());
  out.set_description_de(s.descriptions().de());
  out.set_description_en(s.descriptions().en());
  out.set_group(s.group());
  out.set_department(s.department());
  out.set_sla_hours(s.sla_hours());
  out.set_details_public(s.details_public());
  out.set_notice_de(s.notices().de());
  out.set_notice_en(s.notices().en());
  out.set_active(s.active());
  return out;
}

Catalogue::Catalogue(CatalogueStore& store, std::chrono::milliseconds ttl)
    : store_(store), ttl_(ttl) {}

absl::StatusOr<std::shared_ptr<const Catalogue::Entry>> Catalogue::Load(
    std::string_view jurisdiction) {
  const auto now = std::chrono::steady_clock::now();
  {
    std::shared_lock lock(mu_);
    auto it = entries_.find(jurisdiction);
    if (it != entries_.end() && now - it->second->loaded < ttl_) return it->second;
  }
  ASSIGN_OR_RETURN(auto services, store_.List(jurisdiction));
  auto entry = std::make_shared<Entry>();
  entry->loaded = now;
  for (auto& s : services) {
    std::string code = s.code();
    entry->services.emplace(std::move(code), std::make_shared<const StoredService>(std::move(s)));
  }
  std::unique_lock lock(mu_);
  entries_[std::string(jurisdiction)] = entry;
  return std::shared_ptr<const Entry>(entry);
}

absl::StatusOr<std::shared_ptr<const StoredService>> Catalogue::Find(std::string_view jurisdiction,
                                                                     std::string_view code) {
  ASSIGN_OR_RETURN(const auto entry, Load(jurisdiction));
  auto it = entry->services.find(code);
  if (it == entry->services.end()) return absl::NotFoundError("service_code: not in the catalogue");
  return it->second;
}

absl::StatusOr<std::vector<std::shared_ptr<const StoredService>>> Catalogue::All(
    std::string_view jurisdiction) {
  ASSIGN_OR_RETURN(const auto entry, Load(jurisdiction));
  std::vector<std::shared_ptr<const StoredService>> out;
  for (const auto& [code, s] : entry->services) out.push_back(s);
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return std::tie(a->group(), a->name_de(), a->code()) <
           std::tie(b->group(), b->name_de(), b->code());
  });
  return out;
}

std::optional<std::shared_ptr<const StoredService>> Catalogue::Cached(std::string_view jurisdiction,
                                                                      std::string_view code) {
  std::shared_lock lock(mu_);
  auto it = entries_.find(jurisdiction);
  if (it == entries_.end() || std::chrono::steady_clock::now() - it->second->loaded >= ttl_) {
    return std::nullopt;
  }
  auto found = it->second->services.find(code);
  if (found == it->second->services.end()) return std::shared_ptr<const StoredService>();
  return found->second;
}

void Catalogue::Invalidate(std::string_view jurisdiction) {
  std::unique_lock lock(mu_);
  entries_.erase(std::string(jurisdiction));
}

}  // namespace cityhub::requests
