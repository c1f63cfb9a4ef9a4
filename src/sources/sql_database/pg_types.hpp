#pragma once

// PostgreSQL → cdlt types: how each reflected column is selected (as is, or cast on the server)
// and how its binary COPY value is decoded into a batch column.

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cdlt/batch.hpp"
#include "cdlt/resource.hpp"

namespace cdlt::sources::sql_database {

/// dlt's reflection levels.
enum class ReflectionLevel { kMinimal, kFull, kFullWithPrecision };

/// One column as the catalog describes it (domains already resolved to their base type).
struct PgColumnInfo {
  std::string name;
  std::string declared;    ///< format_type() of the declared type, for messages
  std::string base_type;   ///< pg_type.typname of the (base) type, e.g. "int4", "_text"
  char typtype = 'b';      ///< b base, e enum, c composite, r range, m multirange, d domain, p
  char typcategory = 'U';  ///< A array, ...
  int32_t typmod = -1;     ///< of the base type (numeric precision/scale, varchar length)
  bool not_null = false;
  int pk_position = 0;  ///< 1-based position in the primary key, 0 = not part of it
};

/// How a value arrives on the wire and lands in the batch.
enum class PgDecode : uint8_t {
  kBool,
  kInt16,
  kInt32,
  kInt64,
  kInt16As64,
  kInt32As64,
  kOid,
  kFloat4,
  kFloat8,
  kNumeric,
  kText,
  kBytea,
  kJsonb,
  kDate,
  kTime,
  kTimeTz,
  kTimestamp,
  kTimestampTz,
  kUuid,
};

/// Warnings given at most once per column, shared by all readers of a table.
struct ColumnWarnings {
  std::atomic<bool> numeric_special{false};  ///< NaN / ±Infinity in a numeric column
  std::atomic<bool> numeric_rounded{false};  ///< more fractional digits than the scale
  std::atomic<bool> out_of_range{false};     ///< timestamp beyond what DuckDB can hold
};

struct PgColumnPlan {
  std::string name;         ///< source column name
  std::string select_expr;  ///< expression in the COPY's SELECT list
  PgDecode decode = PgDecode::kText;
  Field field;
  std::optional<int> text_precision;  ///< varchar(n) length, kept with full_with_precision
  std::shared_ptr<ColumnWarnings> warnings = std::make_shared<ColumnWarnings>();
};

/// Plan one column. `hint` (the user's column hint, if any) may widen the plan: data_type text
/// casts on the server, precision/scale choose the decimal type of a numeric. Types without a
/// native mapping are cast to text on the server; `warning` gets a message for those that are
/// not in the documented list (table and column are added by the caller).
PgColumnPlan PlanColumn(const PgColumnInfo& column, ReflectionLevel level, const ColumnHint* hint,
                        std::string* warning);

}  // namespace cdlt::sources::sql_database
