#pragma once

// SQL identifier quoting shared by the DuckDB and PostgreSQL code (both follow the standard).

#include <string>
#include <string_view>

namespace cdlt::db {

/// Quote an identifier for DuckDB/PostgreSQL SQL ("a""b").
inline std::string QuoteIdent(std::string_view name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

}  // namespace cdlt::db
