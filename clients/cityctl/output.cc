#include "clients/cityctl/output.h"

#include <algorithm>
#include <regex>

#include <yaml-cpp/yaml.h>

namespace cityhub::cityctl {
namespace {

using json = nlohmann::json;

constexpr size_t kMaxCellChars = 60;

// Number of code points in UTF-8 `text` (for alignment; every code point counts as one column).
size_t Width(const std::string& text) {
  return static_cast<size_t>(
      std::count_if(text.begin(), text.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

std::string Truncate(const std::string& text) {
  if (Width(text) <= kMaxCellChars) return text;
  size_t points = 0;
  size_t i = 0;
  for (; i < text.size(); ++i) {
    if ((text[i] & 0xC0) != 0x80 && ++points > kMaxCellChars - 1) break;
  }
  return text.substr(0, i) + "…";
}

bool LooksTyped(const std::string& text) {
  static const std::regex kTyped(
      "|~|null|Null|NULL|true|True|TRUE|false|False|FALSE|yes|no|on|off|"
      "[-+]?([0-9]+\\.?[0-9]*|\\.[0-9]+)([eE][-+]?[0-9]+)?|[-+]?\\.(inf|Inf|INF)|\\.(nan|NaN|NAN)");
  return std::regex_match(text, kTyped);
}

void Emit(YAML::Emitter& out, const json& value) {
  switch (value.type()) {
    case json::value_t::object:
      out << YAML::BeginMap;
      for (const auto& [key, item] : value.items()) {
        out << YAML::Key << key << YAML::Value;
        Emit(out, item);
      }
      out << YAML::EndMap;
      break;
    case json::value_t::array:
      out << YAML::BeginSeq;
      for (const json& item : value) Emit(out, item);
      out << YAML::EndSeq;
      break;
    case json::value_t::string:
      // Strings that would read back as another type ("true", "12", "~", "") are quoted.
      if (LooksTyped(value.get<std::string>())) out << YAML::DoubleQuoted;
      out << value.get<std::string>();
      break;
    case json::value_t::boolean:
      out << value.get<bool>();
      break;
    case json::value_t::number_integer:
      out << value.get<int64_t>();
      break;
    case json::value_t::number_unsigned:
      out << value.get<uint64_t>();
      break;
    case json::value_t::number_float:
      out << value.get<double>();
      break;
    default:
      out << YAML::Null;
  }
}

}  // namespace

std::optional<Format> ParseFormat(const std::string& text) {
  if (text == "table") return Format::kTable;
  if (text == "json") return Format::kJson;
  if (text == "yaml") return Format::kYaml;
  return std::nullopt;
}

std::string Cell(const json& value) {
  std::string text;
  if (value.is_string()) {
    text = value.get<std::string>();
  } else if (value.is_array()) {
    for (const json& item : value) {
      if (!text.empty()) text += ",";
      text += Cell(item);
    }
  } else if (value.is_null()) {
    text = "";
  } else {
    text = value.dump();
  }
  for (char& c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  }
  return Truncate(text);
}

void PrintTable(const json& items, const std::vector<Column>& columns, std::ostream& out) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> headings;
  for (const Column& column : columns) {
    std::string heading = column.heading;
    std::transform(heading.begin(), heading.end(), heading.begin(), ::toupper);
    headings.push_back(heading);
  }
  rows.push_back(headings);
  for (const json& item : items) {
    std::vector<std::string> row;
    for (const Column& column : columns) {
      const json::json_pointer pointer(column.pointer);
      row.push_back(item.contains(pointer) ? Cell(item.at(pointer)) : "");
    }
    rows.push_back(row);
  }
  std::vector<size_t> widths(columns.size(), 0);
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], Width(row[i]));
  }
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(widths[i] - Width(row[i]) + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out << line << "\n";
  }
}

std::string ToYaml(const json& value) {
  YAML::Emitter out;
  out.SetIndent(2);
  Emit(out, value);
  return std::string(out.c_str()) + "\n";
}

void Print(Format format, const json& document, const json& items,
           const std::vector<Column>& columns, std::ostream& out) {
  switch (format) {
    case Format::kJson:
      out << document.dump(2, ' ', false, json::error_handler_t::replace) << "\n";
      break;
    case Format::kYaml:
      out << ToYaml(document);
      break;
    case Format::kTable:
      PrintTable(items.is_array() ? items : json::array({items}), columns, out);
      break;
  }
}

}  // namespace cityhub::cityctl
