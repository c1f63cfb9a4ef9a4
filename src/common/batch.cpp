#include "cdlt/batch.hpp"

#include <algorithm>
#include <cstring>

#include "common/error.hpp"

namespace cdlt {

std::string_view PhysicalTypeName(PhysicalType type) {
  switch (type) {
    case PhysicalType::kBool:
      return "bool";
    case PhysicalType::kInt8:
      return "int8";
    case PhysicalType::kInt16:
      return "int16";
    case PhysicalType::kInt32:
      return "int32";
    case PhysicalType::kInt64:
      return "int64";
    case PhysicalType::kInt128:
      return "int128";
    case PhysicalType::kFloat:
      return "float";
    case PhysicalType::kDouble:
      return "double";
    case PhysicalType::kDecimal:
      return "decimal";
    case PhysicalType::kText:
      return "text";
    case PhysicalType::kBinary:
      return "binary";
    case PhysicalType::kJson:
      return "json";
    case PhysicalType::kDate:
      return "date";
    case PhysicalType::kTime:
      return "time";
    case PhysicalType::kTimestamp:
      return "timestamp";
    case PhysicalType::kTimestampTz:
      return "timestamptz";
    case PhysicalType::kUuid:
      return "uuid";
  }
  return "unknown";
}

size_t FixedWidth(PhysicalType type) {
  switch (type) {
    case PhysicalType::kBool:
    case PhysicalType::kInt8:
      return 1;
    case PhysicalType::kInt16:
      return 2;
    case PhysicalType::kInt32:
    case PhysicalType::kFloat:
    case PhysicalType::kDate:
      return 4;
    case PhysicalType::kInt64:
    case PhysicalType::kDouble:
    case PhysicalType::kTime:
    case PhysicalType::kTimestamp:
    case PhysicalType::kTimestampTz:
      return 8;
    case PhysicalType::kInt128:
    case PhysicalType::kDecimal:
    case PhysicalType::kUuid:
      return 16;
    case PhysicalType::kText:
    case PhysicalType::kBinary:
    case PhysicalType::kJson:
      return 0;
  }
  return 0;
}

void Column::Reserve(size_t rows, size_t char_bytes) {
  valid_.reserve(rows);
  if (IsVarWidth(type_.id)) {
    offsets_.reserve(rows + 1);
    chars_.reserve(char_bytes);
  } else {
    data_.reserve(rows * FixedWidth(type_.id));
  }
}

void Column::Clear() {
  valid_.clear();
  data_.clear();
  chars_.clear();
  offsets_.clear();
  if (IsVarWidth(type_.id)) offsets_.push_back(0);
  null_count_ = 0;
}

void Column::AppendNull() {
  if (IsVarWidth(type_.id)) {
    offsets_.push_back(chars_.size());
  } else {
    data_.resize(data_.size() + FixedWidth(type_.id));
  }
  valid_.push_back(0);
  ++null_count_;
}

void Column::OverwriteString(size_t row, std::string_view value) {
  CDLT_ASSERT(
      IsVarWidth(type_.id) && row < size() && offsets_[row + 1] - offsets_[row] == value.size(),
      "Column::OverwriteString: not a string of the same length");
  std::memcpy(chars_.data() + offsets_[row], value.data(), value.size());
}

void Column::AppendFrom(const Column& other, size_t row) {
  if (!other.IsValid(row)) {
    AppendNull();
  } else if (IsVarWidth(type_.id)) {
    AppendString(other.GetString(row));
  } else {
    size_t w = FixedWidth(type_.id);
    size_t at = data_.size();
    data_.resize(at + w);
    std::memcpy(data_.data() + at, other.data_.data() + row * w, w);
    valid_.push_back(1);
  }
}

void Column::AppendRange(const Column& other, size_t from, size_t count) {
  valid_.insert(valid_.end(), other.valid_.begin() + from, other.valid_.begin() + from + count);
  if (other.null_count_ > 0) {
    for (size_t r = from; r < from + count; ++r) null_count_ += other.valid_[r] == 0 ? 1 : 0;
  }
  if (IsVarWidth(type_.id)) {
    uint64_t begin = other.offsets_[from];
    uint64_t shift = chars_.size() - begin;
    chars_.append(other.chars_, begin, other.offsets_[from + count] - begin);
    for (size_t r = from + 1; r <= from + count; ++r) offsets_.push_back(other.offsets_[r] + shift);
  } else {
    size_t w = FixedWidth(type_.id);
    data_.insert(data_.end(), other.data_.begin() + from * w,
                 other.data_.begin() + (from + count) * w);
  }
}

Batch::Batch(Fields fields) : fields_(std::make_shared<Fields>(std::move(fields))) {
  columns_.reserve(fields_->size());
  for (const auto& f : *fields_) columns_.emplace_back(f.type);
}

int Batch::FindColumn(std::string_view name) const {
  for (size_t i = 0; i < fields_->size(); ++i) {
    if ((*fields_)[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

size_t Batch::ByteSize() const {
  size_t total = 0;
  for (const auto& c : columns_) total += c.ByteSize();
  return total;
}

Batch Batch::Slice(size_t offset, size_t length) const {
  Batch out(*fields_);
  size_t end = std::min(num_rows(), offset + length);
  for (size_t c = 0; c < columns_.size(); ++c) {
    out.columns_[c].AppendRange(columns_[c], offset, end - offset);
  }
  return out;
}

void Batch::RenameColumns(const std::vector<std::string>& names) {
  CDLT_ASSERT(names.size() == fields_->size(), "rename needs one name per column");
  Fields renamed = *fields_;
  for (size_t i = 0; i < names.size(); ++i) renamed[i].name = names[i];
  fields_ = std::make_shared<Fields>(std::move(renamed));
}

}  // namespace cdlt
