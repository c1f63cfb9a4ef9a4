#include "config/value_parse.hpp"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <cctype>
#include <charconv>

#include "common/error.hpp"

namespace cdlt::config::detail {
namespace {

std::string FormatDate(const toml::date& d) {
  return fmt::format("{:04}-{:02}-{:02}", d.year, d.month, d.day);
}

std::string FormatTime(const toml::time& t) {
  std::string out = fmt::format("{:02}:{:02}:{:02}", t.hour, t.minute, t.second);
  if (t.nanosecond != 0) {
    std::string frac = fmt::format("{:09}", t.nanosecond);
    while (!frac.empty() && frac.back() == '0') frac.pop_back();
    out += "." + frac;
  }
  return out;
}

std::string FormatDateTime(const toml::date_time& dt) {
  std::string out = FormatDate(dt.date) + "T" + FormatTime(dt.time);
  if (dt.offset) {
    int minutes = dt.offset->minutes;
    if (minutes == 0) {
      out += "Z";
    } else {
      char sign = minutes < 0 ? '-' : '+';
      if (minutes < 0) minutes = -minutes;
      out += fmt::format("{}{:02}:{:02}", sign, minutes / 60, minutes % 60);
    }
  }
  return out;
}

nlohmann::json TomlToJson(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::table: {
      nlohmann::json out = nlohmann::json::object();
      for (auto&& [k, v] : *node.as_table()) out[std::string(k.str())] = TomlToJson(v);
      return out;
    }
    case toml::node_type::array: {
      nlohmann::json out = nlohmann::json::array();
      for (auto&& v : *node.as_array()) out.push_back(TomlToJson(v));
      return out;
    }
    case toml::node_type::string:
      return node.as_string()->get();
    case toml::node_type::integer:
      return node.as_integer()->get();
    case toml::node_type::floating_point:
      return node.as_floating_point()->get();
    case toml::node_type::boolean:
      return node.as_boolean()->get();
    case toml::node_type::date:
      return FormatDate(node.as_date()->get());
    case toml::node_type::time:
      return FormatTime(node.as_time()->get());
    case toml::node_type::date_time:
      return FormatDateTime(node.as_date_time()->get());
    case toml::node_type::none:
      break;
  }
  return nullptr;
}

}  // namespace

nlohmann::json ParseTomlDocument(std::string_view text, const std::string& source) {
  try {
    toml::table table = toml::parse(text, source);
    return TomlToJson(table);
  } catch (const toml::parse_error& e) {
    Throw(ErrorKind::kConfig, "invalid TOML in {} at line {}, column {}: {}", source,
          e.source().begin.line, e.source().begin.column, e.description());
  }
}

std::optional<nlohmann::json> ParseTomlValue(std::string_view text) {
  // A newline inside the text could smuggle in more keys; a lone value never needs one outside
  // strings, and multi-line TOML values are not expected in env vars.
  std::string doc = "v = ";
  doc.append(text);
  try {
    toml::table table = toml::parse(doc);
    if (table.size() != 1) return std::nullopt;
    const toml::node* v = table.get("v");
    if (v == nullptr) return std::nullopt;
    return TomlToJson(*v);
  } catch (const toml::parse_error&) {
    return std::nullopt;
  }
}

std::optional<int64_t> ParseInt(std::string_view text) {
  text = Trim(text);
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  if (text.empty()) return std::nullopt;
  int64_t value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size()) return std::nullopt;
  return value;
}

std::optional<bool> ParseBool(std::string_view text) {
  std::string lower = ToLower(Trim(text));
  if (lower == "true" || lower == "1" || lower == "yes") return true;
  if (lower == "false" || lower == "0" || lower == "no") return false;
  return std::nullopt;
}

std::optional<double> ParseDouble(std::string_view text) {
  text = Trim(text);
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  if (text.empty()) return std::nullopt;
  double value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size()) return std::nullopt;
  return value;
}

std::optional<nlohmann::json> ParseObjectText(std::string_view text) {
  text = Trim(text);
  if (text.empty() || text.front() != '{') return std::nullopt;
  nlohmann::json parsed = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_object()) return parsed;
  std::optional<nlohmann::json> toml = ParseTomlValue(text);
  if (toml && toml->is_object()) return toml;
  return std::nullopt;
}

std::optional<nlohmann::json> ParseArrayText(std::string_view text) {
  text = Trim(text);
  if (text.empty() || text.front() != '[') return std::nullopt;
  nlohmann::json parsed = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_array()) return parsed;
  std::optional<nlohmann::json> toml = ParseTomlValue(text);
  if (toml && toml->is_array()) return toml;
  return std::nullopt;
}

std::vector<std::string> SplitCommaList(std::string_view text) {
  std::vector<std::string> out;
  while (true) {
    size_t comma = text.find(',');
    std::string_view item = Trim(text.substr(0, comma));
    if (!item.empty()) out.emplace_back(item);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

}  // namespace cdlt::config::detail
