#pragma once

// Small text helpers shared by config parsing, value conversion and destinations.

#include <cctype>
#include <optional>
#include <string>
#include <string_view>

namespace cdlt {

/// `text` without leading and trailing ASCII whitespace (space, \t, \n, \r, \f, \v).
inline std::string_view Trim(std::string_view text) {
  auto space = [](char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
  };
  while (!text.empty() && space(text.front())) text.remove_prefix(1);
  while (!text.empty() && space(text.back())) text.remove_suffix(1);
  return text;
}

/// `text` with ASCII letters in lower / upper case (other bytes, UTF-8 included, unchanged).
inline std::string ToLower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}
inline std::string ToUpper(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

/// The value of hex digit `c` (either case), or -1.
inline int HexDigitValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/// What PercentDecode does with a '%' that is not followed by two hex digits ("%zz", "%4" at the
/// end, a trailing "%").
enum class BadPercentEscape {
  kReject,  ///< the text is malformed: PercentDecode returns nullopt
  kKeep,    ///< the '%' is an ordinary character and is kept as it is ("100%zz" stays "100%zz")
};

/// `text` with each "%XX" (two hex digits, either case) replaced by its byte, for URL parts;
/// '+' stays '+'. nullopt only for a bad escape with BadPercentEscape::kReject.
inline std::optional<std::string> PercentDecode(std::string_view text, BadPercentEscape bad) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%') {
      int hi = i + 2 < text.size() ? HexDigitValue(text[i + 1]) : -1;
      int lo = i + 2 < text.size() ? HexDigitValue(text[i + 2]) : -1;
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
      if (bad == BadPercentEscape::kReject) return std::nullopt;
    }
    out.push_back(text[i]);
  }
  return out;
}

}  // namespace cdlt
