#include "sources/sql_database/pg_types.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>

#include "db/pg_conn.hpp"

namespace cdlt::sources::sql_database {
namespace {

// dlt's default decimal type, used for `numeric` without precision.
constexpr int kDefaultPrecision = 38;
constexpr int kDefaultScale = 9;
constexpr int kMaxDecimalPrecision = 38;

// Types read as text on the server without a warning (their text form is what users expect).
constexpr std::array<std::string_view, 11> kTextTypes = {"interval", "inet",   "cidr",    "macaddr",
                                                         "macaddr8", "bit",    "varbit",  "xml",
                                                         "char",     "citext", "tsvector"};

ColumnType Decimal(int precision, int scale) {
  return ColumnType{PhysicalType::kDecimal, static_cast<uint8_t>(precision),
                    static_cast<uint8_t>(scale)};
}

void SetNumeric(PgColumnPlan& plan, int precision, int scale) {
  plan.decode = PgDecode::kNumeric;
  plan.field.type = Decimal(precision, scale);
}

void SetText(PgColumnPlan& plan, const std::string& quoted) {
  // format() uses the type's output function (a plain ::text cast of inet adds the netmask).
  plan.select_expr =
      fmt::format("CASE WHEN {0} IS NULL THEN NULL ELSE format('%s', {0}) END", quoted);
  plan.decode = PgDecode::kText;
  plan.field.type = ColumnType{PhysicalType::kText};
}

}  // namespace

PgColumnPlan PlanColumn(const PgColumnInfo& column, ReflectionLevel level, const ColumnHint* hint,
                        std::string* warning) {
  PgColumnPlan plan;
  plan.name = column.name;
  const std::string quoted = db::QuoteIdent(column.name);
  plan.select_expr = quoted;
  plan.field.name = column.name;
  plan.field.nullable = !column.not_null;
  const std::string& t = column.base_type;
  const bool with_precision = level == ReflectionLevel::kFullWithPrecision;

  // A user's data_type / precision hint decides how the value is read.
  if (hint != nullptr && hint->data_type) {
    const std::string& want = *hint->data_type;
    if (want == "text") {
      SetText(plan, quoted);
      return plan;
    }
    if (want == "double") {
      plan.select_expr = quoted + "::float8";
      plan.decode = PgDecode::kFloat8;
      plan.field.type = ColumnType{PhysicalType::kDouble};
      return plan;
    }
    if (want == "bigint") {
      plan.select_expr = quoted + "::int8";
      plan.decode = PgDecode::kInt64;
      plan.field.type = ColumnType{PhysicalType::kInt64};
      return plan;
    }
    if (want == "json") {
      plan.select_expr = "to_json(" + quoted + ")";
      plan.decode = PgDecode::kText;
      plan.field.type = ColumnType{PhysicalType::kJson};
      return plan;
    }
    if (want == "decimal") {
      int p = hint->precision.value_or(kDefaultPrecision);
      int s = hint->scale.value_or(kDefaultScale);
      if (p < 1 || p > kMaxDecimalPrecision || s < 0 || s > p) {
        *warning = fmt::format(
            "column hint decimal({}, {}) is outside 1 <= scale <= precision <= 38; reading the "
            "column as text",
            p, s);
        SetText(plan, quoted);
        return plan;
      }
      plan.select_expr = quoted + "::numeric";
      SetNumeric(plan, p, s);
      return plan;
    }
  }

  if (column.typcategory == 'A') {
    plan.select_expr = "to_json(" + quoted + ")";
    plan.decode = PgDecode::kText;
    plan.field.type = ColumnType{PhysicalType::kJson};
    return plan;
  }
  if (column.typtype == 'e') {  // enum: the binary form is the label
    plan.decode = PgDecode::kText;
    plan.field.type = ColumnType{PhysicalType::kText};
    return plan;
  }
  if (column.typtype == 'c') {
    plan.select_expr = "to_json(" + quoted + ")";
    plan.decode = PgDecode::kText;
    plan.field.type = ColumnType{PhysicalType::kJson};
    return plan;
  }

  auto set = [&](PgDecode decode, PhysicalType type) {
    plan.decode = decode;
    plan.field.type = ColumnType{type};
  };
  if (t == "bool") {
    set(PgDecode::kBool, PhysicalType::kBool);
  } else if (t == "int2") {
    with_precision ? set(PgDecode::kInt16, PhysicalType::kInt16)
                   : set(PgDecode::kInt16As64, PhysicalType::kInt64);
  } else if (t == "int4") {
    with_precision ? set(PgDecode::kInt32, PhysicalType::kInt32)
                   : set(PgDecode::kInt32As64, PhysicalType::kInt64);
  } else if (t == "int8") {
    set(PgDecode::kInt64, PhysicalType::kInt64);
  } else if (t == "oid" || t == "xid" || t == "cid") {
    set(PgDecode::kOid, PhysicalType::kInt64);
  } else if (t == "float4") {
    set(PgDecode::kFloat4, PhysicalType::kFloat);
  } else if (t == "float8") {
    set(PgDecode::kFloat8, PhysicalType::kDouble);
  } else if (t == "numeric") {
    int precision = kDefaultPrecision;
    int scale = kDefaultScale;
    int p = 0, s = 0;
    if (column.typmod >= 4) {
      p = ((column.typmod - 4) >> 16) & 0xffff;
      s = (column.typmod - 4) & 0x7ff;
      if (s & 0x400) s -= 0x800;  // PostgreSQL 15+ stores the scale as 11-bit signed
      if (s < 0) {
        // numeric(5,-2) holds whole numbers up to p - s digits.
        precision = p - s;
        scale = 0;
      } else {
        precision = std::max(p, s);
        scale = s;
      }
    }
    if (precision > kMaxDecimalPrecision) {
      *warning = fmt::format(
          "type {} has more digits than DuckDB's decimal holds (38); the column is loaded as "
          "text",
          column.declared);
      SetText(plan, quoted);
    } else {
      SetNumeric(plan, precision, scale);
    }
  } else if (t == "money") {
    plan.select_expr = quoted + "::numeric";
    SetNumeric(plan, 19, 2);
  } else if (t == "text" || t == "varchar" || t == "bpchar" || t == "name") {
    set(PgDecode::kText, PhysicalType::kText);
    if (with_precision && (t == "varchar" || t == "bpchar") && column.typmod > 4) {
      plan.text_precision = column.typmod - 4;
    }
  } else if (t == "bytea") {
    set(PgDecode::kBytea, PhysicalType::kBinary);
  } else if (t == "json") {
    set(PgDecode::kText, PhysicalType::kJson);
  } else if (t == "jsonb") {
    set(PgDecode::kJsonb, PhysicalType::kJson);
  } else if (t == "date") {
    set(PgDecode::kDate, PhysicalType::kDate);
  } else if (t == "time") {
    set(PgDecode::kTime, PhysicalType::kTime);
  } else if (t == "timetz") {
    set(PgDecode::kTimeTz, PhysicalType::kTime);
  } else if (t == "timestamp") {
    set(PgDecode::kTimestamp, PhysicalType::kTimestamp);
  } else if (t == "timestamptz") {
    set(PgDecode::kTimestampTz, PhysicalType::kTimestampTz);
  } else if (t == "uuid") {
    set(PgDecode::kUuid, PhysicalType::kUuid);
  } else {
    if (std::find(kTextTypes.begin(), kTextTypes.end(), t) == kTextTypes.end()) {
      *warning = fmt::format("type {} has no native mapping; the column is loaded as text",
                             column.declared);
    }
    SetText(plan, quoted);
  }
  return plan;
}

}  // namespace cdlt::sources::sql_database
