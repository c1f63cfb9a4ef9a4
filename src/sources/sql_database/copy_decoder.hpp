#pragma once

// Decodes PostgreSQL's binary COPY stream straight into batch columns: no per-value text parsing,
// no per-row heap objects. Memory is one batch of `chunk_rows` rows.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "cdlt/batch.hpp"
#include "sources/sql_database/pg_types.hpp"

namespace cdlt::sources::sql_database {

class CopyDecoder {
 public:
  /// `columns` in SELECT order; `where` names the table and database for errors and warnings
  /// ("table public.orders in postgresql://user@host:5432/db"). `emit` receives full batches of
  /// `chunk_rows` rows and returns false to stop.
  CopyDecoder(const std::vector<PgColumnPlan>& columns, size_t chunk_rows, std::string where,
              std::function<bool(Batch)> emit);

  /// One CopyData message (a row, the first one preceded by the header, the last one the
  /// trailer). Returns false once `emit` asked to stop. Malformed data throws Error(kSource)
  /// naming the table and column.
  bool Feed(const char* data, size_t size);
  /// Emit the rows of the last, partial batch. Returns what `emit` returned (true when empty).
  bool Finish();
  int64_t rows() const { return rows_; }

 private:
  void NewBatch();
  void DecodeValue(size_t column, const uint8_t* p, int32_t len);
  [[noreturn]] void Fail(size_t column, const std::string& why) const;

  const std::vector<PgColumnPlan>& columns_;
  size_t chunk_rows_;
  std::string where_;
  std::function<bool(Batch)> emit_;
  Fields fields_;
  Batch batch_;
  bool header_done_ = false;
  int64_t rows_ = 0;
};

/// Decode a numeric's binary form into an unscaled value with `scale` fractional digits, rounding
/// half away from zero. Returns false for NaN/±Infinity (`*special` set) or when the value does
/// not fit in `precision` digits; `*rounded` tells whether digits were dropped. Exposed for tests.
bool DecodeNumeric(const uint8_t* p, int32_t len, int precision, int scale, __int128* out,
                   bool* special, bool* rounded);

}  // namespace cdlt::sources::sql_database
