// The Parquet stream writer: batches handed to DuckDB's COPY come back from the file unchanged.
// Its chunks point into the batches' own strings rather than copying them, so the producer drops
// its references right after each Write and the strings are checked byte for byte: short ones
// (inlined by DuckDB, up to 12 bytes), long ones, empty ones, NULLs, binary with zero bytes, and
// chunk boundaries (DuckDB takes 2048 rows at a time) inside one batch and across batches.

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cdlt/batch.hpp"
#include "db/duckdb_conn.hpp"
#include "helpers/test_util.hpp"

namespace cdlt::db {
namespace {

/// Row `i`'s text: lengths cycle through 0..40 with a distinct prefix, every 7th row NULL, and
/// every 1000th row 100 KB long.
std::optional<std::string> TextOf(size_t i) {
  if (i % 7 == 3) return std::nullopt;
  if (i % 1000 == 999) return std::string(100000, static_cast<char>('a' + i % 26));
  std::string s = std::to_string(i) + ":";
  size_t length = i % 41;
  while (s.size() < length) s += static_cast<char>('A' + (s.size() + i) % 26);
  return s.substr(0, length);
}

std::string BlobOf(size_t i) {
  std::string b(i % 20, '\0');
  for (size_t k = 0; k < b.size(); k += 3) b[k] = static_cast<char>(i + k);
  return b;
}

TEST(ParquetStreamWriter, StringsComeBackByteForByte) {
  test::TempDir dir;
  std::string path = (dir.path() / "t.parquet").string();
  Fields fields = {{"i", {PhysicalType::kInt64}, false},
                   {"t", {PhysicalType::kText}, true},
                   {"b", {PhysicalType::kBinary}, true}};
  // Batch sizes that put chunk boundaries inside and at the ends of batches.
  const std::vector<size_t> sizes = {1, 2047, 2049, 5000, 13, 4096};
  size_t total = 0;
  {
    ParquetStreamWriter writer(path, fields);
    for (size_t n : sizes) {
      auto batch = std::make_shared<Batch>(fields);
      for (size_t r = 0; r < n; ++r, ++total) {
        batch->column(0).Append<int64_t>(static_cast<int64_t>(total));
        if (auto t = TextOf(total)) {
          batch->column(1).AppendString(*t);
        } else {
          batch->column(1).AppendNull();
        }
        batch->column(2).AppendString(BlobOf(total));
      }
      writer.Write(std::move(batch));  // the writer holds the only reference now
    }
    writer.Close();
  }
  auto db = DuckDatabase::Open(":memory:");
  DuckConnection con(db);
  TextRows rows =
      con.QueryText("SELECT i, t, hex(b) FROM read_parquet(" + QuoteLiteral(path) + ") ORDER BY i");
  ASSERT_EQ(rows.rows.size(), total);
  for (size_t i = 0; i < total; ++i) {
    const auto& row = rows.rows[i];
    ASSERT_EQ(row[0], std::to_string(i));
    ASSERT_EQ(row[1], TextOf(i)) << "row " << i;
    std::string hex;
    for (unsigned char c : BlobOf(i)) hex += fmt::format("{:02X}", c);
    ASSERT_EQ(row[2], hex) << "row " << i;
  }
}

TEST(ParquetStreamWriter, WideRowsGetSmallerRowGroupsInTheOrderWritten) {
  // 60k rows of ~300 bytes: DuckDB would hold 32768 of them (~10MB) per row group; the 8MB cap
  // makes the groups smaller. The rows stay in the order they were written.
  test::TempDir dir;
  std::string path = (dir.path() / "wide.parquet").string();
  Fields fields = {{"i", {PhysicalType::kInt64}, false}, {"t", {PhysicalType::kText}, false}};
  const size_t total = 60000;
  {
    ParquetStreamWriter writer(path, fields);
    for (size_t done = 0; done < total;) {
      auto batch = std::make_shared<Batch>(fields);
      for (size_t r = 0; r < 5000; ++r, ++done) {
        batch->column(0).Append<int64_t>(static_cast<int64_t>(done));
        batch->column(1).AppendString(std::string(300, static_cast<char>('a' + done % 26)));
      }
      writer.Write(std::move(batch));
    }
    writer.Close();
  }
  auto db = DuckDatabase::Open(":memory:");
  DuckConnection con(db);
  EXPECT_EQ(con.QueryScalar("SELECT count(*) FILTER (WHERE i <> file_row_number) || '/' || "
                            "count(*) FROM read_parquet(" +
                            QuoteLiteral(path) + ", file_row_number = true)"),
            "0/60000");
  auto largest = con.QueryScalar("SELECT max(row_group_num_rows) FROM parquet_metadata(" +
                                 QuoteLiteral(path) + ")");
  ASSERT_TRUE(largest);
  EXPECT_LT(std::stoll(*largest), 32768);
}

TEST(ParquetWriterSession, TheWritersDatabaseClosesWhenTheLastHolderIsGone) {
  // A stage holds a session so its files share one scratch database; after the stage it closes
  // and its memory goes back (it used to stay open, with its buffers, until the process ended).
  test::TempDir dir;
  Fields fields = {{"i", {PhysicalType::kInt64}, false}};
  // No other test of this binary keeps a session or a writer past its end.
  EXPECT_FALSE(ParquetWriterDatabaseIsOpen());
  {
    ParquetWriterSession session;
    EXPECT_TRUE(ParquetWriterDatabaseIsOpen());
    for (int f = 0; f < 2; ++f) {
      ParquetStreamWriter writer((dir.path() / fmt::format("{}.parquet", f)).string(), fields);
      auto batch = std::make_shared<Batch>(fields);
      batch->column(0).Append<int64_t>(f);
      writer.Write(std::move(batch));
      writer.Close();
    }
    EXPECT_TRUE(ParquetWriterDatabaseIsOpen());
  }
  EXPECT_FALSE(ParquetWriterDatabaseIsOpen());
  {
    // A writer alone holds it too.
    ParquetStreamWriter writer((dir.path() / "alone.parquet").string(), fields);
    EXPECT_TRUE(ParquetWriterDatabaseIsOpen());
    writer.Close();
  }
  EXPECT_FALSE(ParquetWriterDatabaseIsOpen());
}

}  // namespace
}  // namespace cdlt::db
