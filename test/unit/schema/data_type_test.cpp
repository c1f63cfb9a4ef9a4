#include "schema/data_type.hpp"

#include <gtest/gtest.h>

#include "common/error.hpp"

namespace cdlt::schema {
namespace {

TEST(Schema, DataTypeNamesRoundTrip) {
  for (DataType type : {DataType::kText, DataType::kDouble, DataType::kBool, DataType::kTimestamp,
                        DataType::kBigint, DataType::kBinary, DataType::kJson, DataType::kDecimal,
                        DataType::kWei, DataType::kDate, DataType::kTime}) {
    EXPECT_EQ(ParseDataType(DataTypeName(type)), type);
  }
  EXPECT_EQ(DataTypeName(DataType::kTimestamp), "timestamp");
  EXPECT_EQ(ParseDataType("complex"), DataType::kJson);
  EXPECT_EQ(ParseDataType("varchar"), std::nullopt);
  EXPECT_EQ(ParseDataType("Text"), std::nullopt);
}

TEST(Schema, WriteDispositionParse) {
  EXPECT_EQ(ParseWriteDisposition("merge", "write_disposition"), WriteDisposition::kMerge);
  EXPECT_EQ(WriteDispositionName(WriteDisposition::kSkip), "skip");
  try {
    ParseWriteDisposition("upsert", "sources.x.write_disposition");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kConfig);
    EXPECT_EQ(e.message(),
              "invalid write disposition 'upsert' for sources.x.write_disposition: allowed values "
              "are append, replace, merge, skip");
  }
}

}  // namespace
}  // namespace cdlt::schema
