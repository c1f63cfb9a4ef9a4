#include "cdlt/batch.hpp"

#include <gtest/gtest.h>

namespace cdlt {
namespace {

Batch MakeBatch(int rows) {
  Batch b(Fields{{"id", {PhysicalType::kInt64}}, {"name", {PhysicalType::kText}}});
  for (int i = 0; i < rows; ++i) {
    b.column(0).Append<int64_t>(i);
    if (i % 3 == 0) {
      b.column(1).AppendNull();
    } else {
      b.column(1).AppendString("n" + std::to_string(i));
    }
  }
  return b;
}

TEST(Batch, SliceCopiesRowsValuesAndNulls) {
  Batch b = MakeBatch(10);
  Batch s = b.Slice(4, 5);
  ASSERT_EQ(s.num_rows(), 5u);
  EXPECT_EQ(s.fields(), b.fields());
  for (size_t r = 0; r < 5; ++r) {
    EXPECT_EQ(s.column(0).Get<int64_t>(r), static_cast<int64_t>(r + 4));
    EXPECT_EQ(s.column(1).IsValid(r), (r + 4) % 3 != 0);
    if (s.column(1).IsValid(r)) {
      EXPECT_EQ(s.column(1).GetString(r), "n" + std::to_string(r + 4));
    }
  }
  EXPECT_EQ(s.column(1).null_count(), 1u);  // row 6
  EXPECT_EQ(b.Slice(8, 100).num_rows(), 2u);
}

TEST(Batch, AppendRangeExtendsAnExistingColumn) {
  Batch b = MakeBatch(7);
  Column c(ColumnType{PhysicalType::kText});
  c.AppendString("first");
  c.AppendRange(b.column(1), 1, 3);  // n1, n2, NULL
  c.AppendRange(b.column(1), 4, 2);  // n4, n5
  ASSERT_EQ(c.size(), 6u);
  EXPECT_EQ(c.GetString(0), "first");
  EXPECT_EQ(c.GetString(2), "n2");
  EXPECT_FALSE(c.IsValid(3));
  EXPECT_EQ(c.GetString(4), "n4");
  EXPECT_EQ(c.GetString(5), "n5");
  EXPECT_EQ(c.null_count(), 1u);
}

}  // namespace
}  // namespace cdlt
