#pragma once

#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace cityhub::cityctl {

enum class Format { kTable, kJson, kYaml };

// "table", "json" or "yaml"; nullopt for anything else.
std::optional<Format> ParseFormat(const std::string& text);

// A table column: its heading and where its value sits in an item (a JSON pointer such as
// "/names/de"; lists are joined with ",").
struct Column {
  std::string heading;
  std::string pointer;
};

// `items` as aligned columns (two spaces apart, headings in capitals), one item a row.
// Values are shown on one line: control characters become spaces, long texts are cut at 60
// characters with "…".
void PrintTable(const nlohmann::json& items, const std::vector<Column>& columns, std::ostream& out);

// `value` as YAML (block style, strings quoted where YAML would read them otherwise).
std::string ToYaml(const nlohmann::json& value);

// Prints `document` in `format`: as JSON (indented), as YAML, or as a table of `items` (the list
// inside the document, or the document itself as a single row when it is an object).
void Print(Format format, const nlohmann::json& document, const nlohmann::json& items,
           const std::vector<Column>& columns, std::ostream& out);

// A value as one table cell.
std::string Cell(const nlohmann::json& value);

}  // namespace cityhub::cityctl
