#pragma once

// Private helpers of the config subsystem: TOML → JSON conversion and parsing of config strings
// (env values) into typed values. Kept apart from config.cpp so toml++ is included only once.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/text.hpp"

namespace cdlt::config::detail {

/// Parses a whole TOML document into a JSON object; dates/times become ISO 8601 strings.
/// Throws cdlt::Error(kConfig) "invalid TOML in <source> at line L, column C: <reason>".
nlohmann::json ParseTomlDocument(std::string_view text, const std::string& source);

/// Parses a TOML value written alone (e.g. an inline table `{a = 1}` or an array `["a", 1]`).
std::optional<nlohmann::json> ParseTomlValue(std::string_view text);

/// Strict parses of a whole string (surrounding whitespace ignored).
std::optional<int64_t> ParseInt(std::string_view text);
/// true/false/1/0/yes/no, case-insensitive.
std::optional<bool> ParseBool(std::string_view text);
std::optional<double> ParseDouble(std::string_view text);
/// JSON object text or TOML inline-table text → object; nullopt when it is neither.
std::optional<nlohmann::json> ParseObjectText(std::string_view text);
/// JSON array text or TOML array text → array; nullopt when it is neither.
std::optional<nlohmann::json> ParseArrayText(std::string_view text);
/// "a, b,c" → {"a", "b", "c"}; empty items dropped.
std::vector<std::string> SplitCommaList(std::string_view text);

using cdlt::ToLower;  // common/text.hpp
using cdlt::ToUpper;
using cdlt::Trim;

}  // namespace cdlt::config::detail
