#include "sources/sql_database/copy_decoder.hpp"

#include <fmt/format.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "common/error.hpp"
#include "common/logging.hpp"

namespace cdlt::sources::sql_database {
namespace {

// True the first time for `flag`; a plain load first, so the shared flag's cache line is only
// written once (split readers share it).
bool WarnOnce(std::atomic<bool>& flag) {
  return !flag.load(std::memory_order_relaxed) && !flag.exchange(true);
}

constexpr char kSignature[] = "PGCOPY\n\377\r\n";  // + the terminating NUL: 11 bytes
constexpr size_t kSignatureSize = 11;
constexpr int32_t kPgEpochDays = 10957;                // 2000-01-01 - 1970-01-01
constexpr int64_t kPgEpochMicros = 946684800000000LL;  // the same in microseconds
constexpr int64_t kMicrosPerDay = 86400000000LL;

inline uint16_t Be16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
inline uint32_t Be32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return __builtin_bswap32(v);
}
inline uint64_t Be64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return __builtin_bswap64(v);
}

const __int128* PowersOfTen() {
  static const auto* table = [] {
    static __int128 p[39];
    p[0] = 1;
    for (int i = 1; i <= 38; ++i) p[i] = p[i - 1] * 10;
    return p;
  }();
  return table;
}

}  // namespace

bool DecodeNumeric(const uint8_t* p, int32_t len, int precision, int scale, __int128* out,
                   bool* special, bool* rounded) {
  *special = false;
  *rounded = false;
  if (len < 8) return false;
  int ndigits = static_cast<int16_t>(Be16(p));
  int weight = static_cast<int16_t>(Be16(p + 2));
  uint16_t sign = Be16(p + 4);
  if (sign == 0xC000 || sign == 0xD000 || sign == 0xF000) {  // NaN, +Infinity, -Infinity
    *special = true;
    return false;
  }
  if (ndigits < 0 || len < 8 + 2 * ndigits) return false;
  const __int128* pow10 = PowersOfTen();
  const __int128 limit = pow10[precision];
  __int128 acc = 0;
  for (int i = 0; i < ndigits; ++i) {
    int digit = Be16(p + 8 + 2 * i);
    // Power of ten of this base-10000 digit in the unscaled result.
    int exp = 4 * (weight - i) + scale;
    if (exp >= 0) {
      if (digit == 0) continue;
      // acc + digit * 10^exp must stay below 10^precision (checked without overflowing).
      if (exp > 38 || digit > (limit - 1 - acc) / pow10[exp]) return false;
      acc += static_cast<__int128>(digit) * pow10[exp];
      continue;
    }
    // This digit straddles or lies below the last kept decimal place: round and stop.
    int drop = -exp;  // decimal places of this digit to drop (1..)
    bool more = false;
    for (int j = i + 1; j < ndigits; ++j) more = more || Be16(p + 8 + 2 * j) != 0;
    if (drop < 4) {
      int divisor = static_cast<int>(pow10[drop]);
      acc += digit / divisor;
      int rest = digit % divisor;
      if (rest != 0 || more) *rounded = true;
      if (rest * 2 >= divisor) acc += 1;
    } else {
      if (digit != 0 || more) *rounded = true;
      if (drop == 4 && digit >= 5000) acc += 1;
    }
    break;
  }
  if (acc >= limit) return false;
  *out = sign == 0x4000 ? -acc : acc;
  return true;
}

CopyDecoder::CopyDecoder(const std::vector<PgColumnPlan>& columns, size_t chunk_rows,
                         std::string where, std::function<bool(Batch)> emit)
    : columns_(columns),
      chunk_rows_(std::max<size_t>(chunk_rows, 1)),
      where_(std::move(where)),
      emit_(std::move(emit)) {
  for (const auto& c : columns_) fields_.push_back(c.field);
  NewBatch();
}

void CopyDecoder::NewBatch() {
  batch_ = Batch(fields_);
  for (size_t c = 0; c < columns_.size(); ++c) batch_.column(c).Reserve(chunk_rows_);
}

void CopyDecoder::Fail(size_t column, const std::string& why) const {
  Throw(ErrorKind::kSource, "cannot decode column {} ({}) of {}: {}", columns_[column].name,
        PhysicalTypeName(columns_[column].field.type.id), where_, why);
}

bool CopyDecoder::Feed(const char* data, size_t size) {
  const auto* p = reinterpret_cast<const uint8_t*>(data);
  const uint8_t* end = p + size;
  if (!header_done_) {
    if (size < kSignatureSize + 8 || std::memcmp(p, kSignature, kSignatureSize) != 0) {
      Throw(ErrorKind::kSource, "unexpected COPY header from {}", where_);
    }
    uint32_t ext = Be32(p + kSignatureSize + 4);
    p += kSignatureSize + 8;
    if (static_cast<size_t>(end - p) < ext) {
      Throw(ErrorKind::kSource, "truncated COPY header from {}", where_);
    }
    p += ext;
    header_done_ = true;
  }
  while (p < end) {
    if (end - p < 2) Throw(ErrorKind::kSource, "truncated COPY row from {}", where_);
    auto nfields = static_cast<int16_t>(Be16(p));
    p += 2;
    if (nfields == -1) return true;  // trailer
    if (static_cast<size_t>(nfields) != columns_.size()) {
      Throw(ErrorKind::kSource, "COPY row from {} has {} fields, expected {}", where_, nfields,
            columns_.size());
    }
    for (size_t c = 0; c < columns_.size(); ++c) {
      if (end - p < 4) Fail(c, "truncated row");
      auto len = static_cast<int32_t>(Be32(p));
      p += 4;
      if (len == -1) {
        batch_.column(c).AppendNull();
        continue;
      }
      if (len < 0 || end - p < len) Fail(c, "truncated value");
      DecodeValue(c, p, len);
      p += len;
    }
    ++rows_;
    if (batch_.num_rows() >= chunk_rows_) {
      Batch full = std::move(batch_);
      NewBatch();
      if (!emit_(std::move(full))) return false;
    }
  }
  return true;
}

bool CopyDecoder::Finish() {
  if (batch_.num_rows() == 0) return true;
  Batch last = std::move(batch_);
  NewBatch();
  return emit_(std::move(last));
}

void CopyDecoder::DecodeValue(size_t c, const uint8_t* p, int32_t len) {
  Column& col = batch_.column(c);
  const PgColumnPlan& plan = columns_[c];
  auto need = [&](int32_t n) {
    if (len != n) Fail(c, fmt::format("expected {} bytes, got {}", n, len));
  };
  switch (plan.decode) {
    case PgDecode::kBool:
      need(1);
      col.AppendBool(p[0] != 0);
      break;
    case PgDecode::kInt16:
      need(2);
      col.Append<int16_t>(static_cast<int16_t>(Be16(p)));
      break;
    case PgDecode::kInt32:
      need(4);
      col.Append<int32_t>(static_cast<int32_t>(Be32(p)));
      break;
    case PgDecode::kInt64:
      need(8);
      col.Append<int64_t>(static_cast<int64_t>(Be64(p)));
      break;
    case PgDecode::kInt16As64:
      need(2);
      col.Append<int64_t>(static_cast<int16_t>(Be16(p)));
      break;
    case PgDecode::kInt32As64:
      need(4);
      col.Append<int64_t>(static_cast<int32_t>(Be32(p)));
      break;
    case PgDecode::kOid:
      need(4);
      col.Append<int64_t>(static_cast<int64_t>(Be32(p)));
      break;
    case PgDecode::kFloat4: {
      need(4);
      uint32_t bits = Be32(p);
      float v;
      std::memcpy(&v, &bits, 4);
      col.Append<float>(v);
      break;
    }
    case PgDecode::kFloat8: {
      need(8);
      uint64_t bits = Be64(p);
      double v;
      std::memcpy(&v, &bits, 8);
      col.Append<double>(v);
      break;
    }
    case PgDecode::kNumeric: {
      __int128 value = 0;
      bool special = false, rounded = false;
      int precision = plan.field.type.precision, scale = plan.field.type.scale;
      if (!DecodeNumeric(p, len, precision, scale, &value, &special, &rounded)) {
        if (special) {
          if (WarnOnce(plan.warnings->numeric_special)) {
            log::Warn(
                "column {} of {}: NaN and Infinity have no decimal form in the destination; "
                "such values are loaded as NULL",
                plan.name, where_);
          }
          col.AppendNull();
          break;
        }
        Fail(c, fmt::format("a value does not fit in decimal({}, {}); set a column hint "
                            "(data_type \"text\", or precision and scale) for this column",
                            precision, scale));
      }
      if (rounded && WarnOnce(plan.warnings->numeric_rounded)) {
        log::Warn(
            "column {} of {}: values have more than {} fractional digits and are rounded to "
            "decimal({}, {}); set a column hint (precision and scale, or data_type \"text\") "
            "to keep them",
            plan.name, where_, scale, precision, scale);
      }
      col.Append<__int128>(value);
      break;
    }
    case PgDecode::kText:
    case PgDecode::kBytea:
      col.AppendString(
          std::string_view(reinterpret_cast<const char*>(p), static_cast<size_t>(len)));
      break;
    case PgDecode::kJsonb:
      if (len < 1 || p[0] != 1) Fail(c, "unknown jsonb version");
      col.AppendString(
          std::string_view(reinterpret_cast<const char*>(p + 1), static_cast<size_t>(len - 1)));
      break;
    case PgDecode::kDate: {
      need(4);
      auto days = static_cast<int32_t>(Be32(p));
      // PostgreSQL's ±infinity become DuckDB's ±infinity.
      if (days == std::numeric_limits<int32_t>::max()) {
        col.Append<int32_t>(std::numeric_limits<int32_t>::max());
      } else if (days == std::numeric_limits<int32_t>::min()) {
        col.Append<int32_t>(-std::numeric_limits<int32_t>::max());
      } else {
        col.Append<int32_t>(days + kPgEpochDays);
      }
      break;
    }
    case PgDecode::kTime:
      need(8);
      col.Append<int64_t>(static_cast<int64_t>(Be64(p)));
      break;
    case PgDecode::kTimeTz: {
      need(12);
      auto micros = static_cast<int64_t>(Be64(p));
      auto zone = static_cast<int32_t>(Be32(p + 8));  // seconds west of UTC
      int64_t utc = (micros + static_cast<int64_t>(zone) * 1000000) % kMicrosPerDay;
      if (utc < 0) utc += kMicrosPerDay;
      col.Append<int64_t>(utc);
      break;
    }
    case PgDecode::kTimestamp:
    case PgDecode::kTimestampTz: {
      need(8);
      auto micros = static_cast<int64_t>(Be64(p));
      constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
      if (micros == kMax) {
        col.Append<int64_t>(kMax);
      } else if (micros == std::numeric_limits<int64_t>::min()) {
        col.Append<int64_t>(-kMax);
      } else if (micros > kMax - 1 - kPgEpochMicros) {
        if (WarnOnce(plan.warnings->out_of_range)) {
          log::Warn(
              "column {} of {}: timestamps after year 294246 do not fit the destination; "
              "such values are loaded as NULL",
              plan.name, where_);
        }
        col.AppendNull();
      } else {
        col.Append<int64_t>(micros + kPgEpochMicros);
      }
      break;
    }
    case PgDecode::kUuid:
      need(16);
      col.Append<std::array<uint8_t, 16>>([&] {
        std::array<uint8_t, 16> bytes;
        std::memcpy(bytes.data(), p, 16);
        return bytes;
      }());
      break;
  }
}

}  // namespace cdlt::sources::sql_database
