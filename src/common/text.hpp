#pragma once

// Small text helpers shared by config parsing, value conversion and destinations.

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

}  // namespace cdlt
