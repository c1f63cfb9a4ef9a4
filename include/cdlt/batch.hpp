#pragma once

/// Typed columnar batches: the unit of data that sources yield and extract writes to Parquet.
/// Values live in flat per-column buffers (validity bytes, fixed-width data or offsets + chars), so
/// building a batch costs no per-row heap allocation.

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace cdlt {

/// Physical column types of a batch.
enum class PhysicalType : uint8_t {
  kBool,
  kInt8,
  kInt16,
  kInt32,
  kInt64,
  kInt128,
  kFloat,
  kDouble,
  kDecimal,  ///< int128 unscaled value with precision/scale
  kText,     ///< UTF-8
  kBinary,
  kJson,         ///< JSON text
  kDate,         ///< int32 days since 1970-01-01
  kTime,         ///< int64 microseconds since midnight
  kTimestamp,    ///< int64 microseconds since the epoch, no time zone
  kTimestampTz,  ///< int64 microseconds since the epoch, UTC
  kUuid,         ///< 16 bytes, RFC 4122 byte order
};

std::string_view PhysicalTypeName(PhysicalType type);
/// Bytes per value for fixed-width types; 0 for variable-width ones (text, binary, json).
size_t FixedWidth(PhysicalType type);
inline bool IsVarWidth(PhysicalType type) { return FixedWidth(type) == 0; }

struct ColumnType {
  PhysicalType id = PhysicalType::kText;
  uint8_t precision = 0;  ///< decimals only
  uint8_t scale = 0;      ///< decimals only
  bool operator==(const ColumnType&) const = default;
};

struct Field {
  std::string name;
  ColumnType type;
  bool nullable = true;
  bool operator==(const Field&) const = default;
};

using Fields = std::vector<Field>;

/// One column's values. Fixed-width values are stored back to back in `data`; variable-width values
/// as `offsets` (size rows + 1) into `chars`.
class Column {
 public:
  explicit Column(ColumnType type = {}) : type_(type) {
    if (IsVarWidth(type.id)) offsets_.push_back(0);
  }

  const ColumnType& type() const { return type_; }
  size_t size() const { return valid_.size(); }
  bool IsValid(size_t row) const { return valid_[row] != 0; }
  bool has_nulls() const { return null_count_ > 0; }
  size_t null_count() const { return null_count_; }

  template <typename T>
  T Get(size_t row) const {
    T out;
    std::memcpy(&out, data_.data() + row * sizeof(T), sizeof(T));
    return out;
  }
  std::string_view GetString(size_t row) const {
    return std::string_view(chars_.data() + offsets_[row], offsets_[row + 1] - offsets_[row]);
  }
  const uint8_t* RawData() const { return data_.data(); }
  /// Replace string `row` by `value` of the same length, in place (the normalizer fills in ids
  /// hashed after their rows were appended; a batch is never changed once it left its producer).
  void OverwriteString(size_t row, std::string_view value);
  const uint8_t* Validity() const { return valid_.data(); }

  void Reserve(size_t rows, size_t char_bytes = 0);
  void Clear();
  /// Approximate bytes held, for buffer accounting.
  size_t ByteSize() const {
    return valid_.size() + data_.size() + offsets_.size() * 8 + chars_.size();
  }

  void AppendNull();
  template <typename T>
  void Append(T value) {
    size_t at = data_.size();
    data_.resize(at + sizeof(T));
    std::memcpy(data_.data() + at, &value, sizeof(T));
    valid_.push_back(1);
  }
  void AppendString(std::string_view value) {
    chars_.append(value.data(), value.size());
    offsets_.push_back(chars_.size());
    valid_.push_back(1);
  }
  void AppendBool(bool value) { Append<uint8_t>(value ? 1 : 0); }
  /// Copy row `row` of `other` (same type) to the end of this column.
  void AppendFrom(const Column& other, size_t row);
  /// Copy rows [from, from + count) of `other` (same type) to the end, in bulk.
  void AppendRange(const Column& other, size_t from, size_t count);

 private:
  ColumnType type_;
  std::vector<uint8_t> valid_;
  std::vector<uint8_t> data_;
  std::vector<uint64_t> offsets_;
  std::string chars_;
  size_t null_count_ = 0;
};

/// A set of equally long columns with their field descriptions.
class Batch {
 public:
  Batch() = default;
  explicit Batch(Fields fields);

  const Fields& fields() const { return *fields_; }
  std::shared_ptr<const Fields> shared_fields() const { return fields_; }
  size_t num_columns() const { return columns_.size(); }
  size_t num_rows() const { return columns_.empty() ? 0 : columns_[0].size(); }
  const Column& column(size_t i) const { return columns_[i]; }
  Column& column(size_t i) { return columns_[i]; }
  /// Index of the column named `name`, or -1.
  int FindColumn(std::string_view name) const;
  size_t ByteSize() const;
  /// A copy of rows [offset, offset + length).
  Batch Slice(size_t offset, size_t length) const;
  /// Rename the columns (same count); used when names are normalized.
  void RenameColumns(const std::vector<std::string>& names);

 private:
  std::shared_ptr<const Fields> fields_ = std::make_shared<Fields>();
  std::vector<Column> columns_;
};

}  // namespace cdlt
