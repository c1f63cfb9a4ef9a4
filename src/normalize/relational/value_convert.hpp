#pragma once

/// Scalar conversions of the relational normalizer (dlt's coercion matrix, reference §5.5): ISO
/// date/time parsing, Python's textual forms of numbers and bools, and the text → number, bool,
/// binary, decimal parsers. Pure functions, no allocation beyond the returned strings.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cdlt::normalize::relational {

/// Microseconds since 1970-01-01 00:00:00 UTC.
using Micros = int64_t;

/// Parse a full ISO-8601 datetime: `YYYY-MM-DD` + `T` or space + `HH:MM[:SS[.fraction]]` +
/// optional `Z` / `±HH[:MM]` / `±HHMM`. Naive values are taken as UTC; the result is UTC. Returns
/// nullopt for date-only, time-only or out-of-range values (`27:00`, `02-30`). This is dlt's
/// `iso_timestamp` detection.
std::optional<Micros> ParseIsoDatetime(std::string_view text);
/// Parse `YYYY-MM-DD`; returns days since 1970-01-01.
std::optional<int32_t> ParseIsoDate(std::string_view text);
/// Parse `HH:MM[:SS[.fraction]]`; returns microseconds since midnight.
std::optional<int64_t> ParseIsoTime(std::string_view text);

/// Text → timestamp as dlt coerces it: ISO datetime, ISO date (midnight UTC) or a number of unix
/// seconds (surrounding whitespace allowed).
std::optional<Micros> TextToTimestamp(std::string_view text);
/// Unix seconds → microseconds, rounded to the nearest microsecond; nullopt when out of range.
std::optional<Micros> SecondsToMicros(double seconds);

/// Python's `int()` on text: trimmed, optional sign, digits (single `_` between digits allowed),
/// or `0x` hex. nullopt when malformed or out of int64 range.
std::optional<int64_t> TextToInt64(std::string_view text);
/// Python's `float()` on text (trimmed; `0x` hex read as an integer).
std::optional<double> TextToDouble(std::string_view text);
/// dlt's text → bool: yes/true/t/y/1 and no/false/f/n/0, case-insensitive.
std::optional<bool> TextToBool(std::string_view text);

/// Python's `repr(float)`: shortest round-trip digits, `1.0`, `1e+16`, `1.5e-05`, `inf`, `nan`.
std::string PyFloatRepr(double value);

/// A decimal number as an unscaled 128-bit integer at `scale` digits after the point, rounded
/// half away from zero. nullopt when malformed or when it needs more than `precision` digits.
std::optional<__int128> TextToDecimal(std::string_view text, int precision, int scale);
/// The decimal text of an unscaled value at `scale` ("12.340" for 12340, scale 3).
std::string DecimalToText(__int128 unscaled, int scale);

/// `0x` hex or strict (padded, standard alphabet) base64 → bytes.
std::optional<std::string> TextToBinary(std::string_view text);
/// Python's `int.to_bytes(minimal length, "little")`; nullopt for negative values.
std::optional<std::string> Int64ToBytes(int64_t value);

/// `YYYY-MM-DDTHH:MM:SS[.ffffff]+00:00` (Python's isoformat of an aware UTC datetime).
std::string FormatTimestamp(Micros micros, bool with_offset = true);
/// `YYYY-MM-DD`.
std::string FormatDate(int32_t days);
/// `HH:MM:SS[.ffffff]`.
std::string FormatTime(int64_t micros);

/// Whether `text` is valid UTF-8 (no overlong forms, no surrogates).
bool IsValidUtf8(std::string_view text);

/// Append `text` as a JSON string literal (quotes, escapes for `"`, `\` and control characters;
/// other characters as UTF-8), the way compact JSON writers do.
void AppendJsonString(std::string& out, std::string_view text);

}  // namespace cdlt::normalize::relational
