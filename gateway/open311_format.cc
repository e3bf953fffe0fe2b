#include "gateway/open311_format.h"

#include <charconv>
#include <ctime>

#include <nlohmann/json.hpp>

#include "infra/status.h"
#include "infra/strings.h"
#include "infra/text.h"

namespace cityhub::gateway::open311 {

using infra::StrAppend;
using infra::StrCat;
using Json = nlohmann::ordered_json;

namespace {

std::string_view ItemName(std::string_view array_key) {
  if (array_key == "services") return "service";
  if (array_key == "attributes") return "attribute";
  if (array_key == "values") return "value";
  if (array_key == "endpoints") return "endpoint";
  if (array_key == "formats") return "format";
  if (array_key == "status_history") return "status_change";
  return "item";
}

// Text content: markup escaped; characters XML 1.0 forbids dropped: C0 controls but tab,
// newline and carriage return (validation keeps those out of stored text anyway) and U+FFFE
// and U+FFFF, which are valid UTF-8 and may be stored, but would make the whole answer
// unparseable for every client.
void AppendXmlText(std::string* out, std::string_view text) {
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\xEF' && i + 2 < text.size() && text[i + 1] == '\xBF' &&
        (text[i + 2] == '\xBE' || text[i + 2] == '\xBF')) {
      i += 2;
      continue;
    }
    switch (c) {
      case '&':
        *out += "&amp;";
        break;
      case '<':
        *out += "&lt;";
        break;
      case '>':
        *out += "&gt;";
        break;
      case '"':
        *out += "&quot;";
        break;
      case '\'':
        *out += "&apos;";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n' && c != '\r') break;
        *out += c;
    }
  }
}

void AppendXml(std::string* out, std::string_view name, const Json& value, std::string_view item) {
  if (value.is_null()) {
    StrAppend(out, "<", name, "/>");
    return;
  }
  StrAppend(out, "<", name, ">");
  if (value.is_object()) {
    for (const auto& [key, child] : value.items()) AppendXml(out, key, child, ItemName(key));
  } else if (value.is_array()) {
    for (const auto& child : value) AppendXml(out, item, child, "item");
  } else if (value.is_string()) {
    AppendXmlText(out, value.get_ref<const std::string&>());
  } else {
    *out += value.dump();  // numbers and booleans as in JSON
  }
  StrAppend(out, "</", name, ">");
}

bool Digits(std::string_view text, size_t at, size_t count, int* out) {
  if (at + count > text.size()) return false;
  int value = 0;
  for (size_t i = at; i < at + count; ++i) {
    if (text[i] < '0' || text[i] > '9') return false;
    value = value * 10 + (text[i] - '0');
  }
  *out = value;
  return true;
}

}  // namespace

std::optional<Resource> SplitFormat(std::string_view path) {
  if (path.ends_with(".json")) return Resource{path.substr(0, path.size() - 5), Format::kJson};
  if (path.ends_with(".xml")) return Resource{path.substr(0, path.size() - 4), Format::kXml};
  return std::nullopt;
}

std::string_view ContentType(Format format) {
  return format == Format::kJson ? "application/json; charset=utf-8" : "text/xml; charset=utf-8";
}

std::string Render(const Json& doc, Format format, std::string_view root,
                   std::string_view root_item) {
  if (format == Format::kJson) return doc.dump(-1, ' ', false, Json::error_handler_t::replace);
  std::string out = R"(<?xml version="1.0" encoding="UTF-8"?>)";
  out += '\n';
  AppendXml(&out, root, doc, root_item);
  out += '\n';
  return out;
}

std::string RenderErrors(int code, std::string_view description, Format format) {
  Json errors = Json::array();
  errors.push_back({{"code", code}, {"description", std::string(description)}});
  return Render(errors, format, "errors", "error");
}

std::optional<int64_t> ParseDateTime(std::string_view text) {
  // A date alone (W3C-DTF's "complete date", as the spec's examples send it): its start, UTC.
  if (text.size() == 10) return ParseDateTime(std::string(text) + "T00:00:00Z");
  // YYYY-MM-DDThh:mm[:ss[.fff…]](Z|±hh:mm)
  if (text.size() < 17 || text.size() > 40) return std::nullopt;
  std::tm tm{};
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!Digits(text, 0, 4, &year) || text[4] != '-' || !Digits(text, 5, 2, &month) ||
      text[7] != '-' || !Digits(text, 8, 2, &day) || (text[10] != 'T' && text[10] != 't') ||
      !Digits(text, 11, 2, &hour) || text[13] != ':' || !Digits(text, 14, 2, &minute)) {
    return std::nullopt;
  }
  size_t at = 16;
  int64_t millis = 0;
  if (at < text.size() && text[at] == ':') {
    if (!Digits(text, at + 1, 2, &second)) return std::nullopt;
    at += 3;
    if (at < text.size() && text[at] == '.') {
      ++at;
      int64_t scale = 100;
      const size_t start = at;
      while (at < text.size() && text[at] >= '0' && text[at] <= '9') {
        millis += (text[at] - '0') * scale;
        scale /= 10;
        ++at;
      }
      if (at == start) return std::nullopt;
    }
  }
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59 ||
      year < 1970) {
    return std::nullopt;
  }
  int offset_minutes = 0;
  const std::string_view zone = text.substr(at);
  if (zone == "Z" || zone == "z") {
    offset_minutes = 0;
  } else if (zone.size() == 6 && (zone[0] == '+' || zone[0] == '-' || zone[0] == ' ') &&
             zone[3] == ':') {
    // A space stands for '+': clients often leave the '+' of "+01:00" unencoded in a query,
    // where it decodes to a space.
    int zh = 0, zm = 0;
    if (!Digits(zone, 1, 2, &zh) || !Digits(zone, 4, 2, &zm) || zh > 14 || zm > 59)
      return std::nullopt;
    offset_minutes = (zh * 60 + zm) * (zone[0] == '-' ? -1 : 1);
  } else {
    return std::nullopt;
  }
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  const time_t seconds = timegm(&tm);
  // timegm normalises 31 February into March: refuse dates that moved.
  if (tm.tm_mday != day || tm.tm_mon != month - 1) return std::nullopt;
  return (int64_t{seconds} - int64_t{offset_minutes} * 60) * 1000 + millis;
}

std::string FormatDateTime(int64_t unix_ms) {
  const time_t seconds = static_cast<time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buffer[32];
  const size_t n = std::strftime(buffer, sizeof(buffer), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return std::string(buffer, n);
}

absl::StatusOr<google::protobuf::Struct> AttributesFromForm(const ParsedQuery& form) {
  google::protobuf::Struct out;
  auto& fields = *out.mutable_fields();
  std::map<std::string, bool, std::less<>> multi;  // code → sent as attribute[CODE][]
  for (const auto& [name, value] : form.params) {
    if (!name.starts_with("attribute")) continue;
    const std::string_view rest = std::string_view(name).substr(9);
    const size_t close = rest.find(']');
    if (rest.empty() || rest.front() != '[' || close == std::string_view::npos || close < 2) {
      return absl::InvalidArgumentError(StrCat(name.size() <= 80 ? name : "attribute",
                                               ": write attribute[CODE] or attribute[CODE][]"));
    }
    const std::string code(rest.substr(1, close - 1));
    const std::string_view tail = rest.substr(close + 1);
    if (code.size() > 64 || (!tail.empty() && tail != "[]")) {
      return absl::InvalidArgumentError(
          StrCat("attribute: write attribute[CODE] or attribute[CODE][]"));
    }
    const bool is_list = tail == "[]";
    auto [it, first] = multi.emplace(code, is_list);
    if (!first && (it->second != is_list || !is_list)) {
      return infra::InvalidField(
          StrCat("attribute[", code, "]"),
          is_list || it->second ? "given both as a single value and as a list" : "given twice");
    }
    if (fields.size() >= 50 && first)
      return infra::InvalidField("attribute", "more than 50 answers");
    if (is_list) {
      auto* list = fields[code].mutable_list_value();
      if (list->values_size() >= 100)
        return infra::InvalidField(StrCat("attribute[", code, "][]"), "more than 100 values");
      list->add_values()->set_string_value(value);
    } else {
      fields[code].set_string_value(value);
    }
  }
  return out;
}

}  // namespace cityhub::gateway::open311
