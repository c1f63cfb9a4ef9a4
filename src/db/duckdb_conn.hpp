#pragma once

// RAII wrappers over DuckDB's C API. Only src/db/ includes duckdb.h; the rest of cdlt talks to
// these classes, which turn DuckDB's error states into cdlt::Error naming the object at fault.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cdlt/batch.hpp"
#include "common/error.hpp"
#include "db/sql_quote.hpp"

struct _duckdb_database;
struct _duckdb_connection;

namespace cdlt::db {

struct DuckOptions {
  /// DuckDB worker threads for this database; 0 = DuckDB's default.
  int threads = 0;
  /// e.g. "2GB"; empty = DuckDB's default.
  std::string memory_limit;
};

/// Whether DuckDB accepts `value` for its setting `name` (DuckDB's own parser: "512MB" or
/// "1GiB" for memory_limit, but not "512" or "50%").
bool IsValidSetting(const std::string& name, const std::string& value);

/// An open DuckDB database (a file, or in memory when path is empty or ":memory:").
class DuckDatabase {
 public:
  /// `kind` is the error kind used when opening fails (a destination file vs. a scratch database).
  static std::shared_ptr<DuckDatabase> Open(const std::string& path,
                                            const DuckOptions& options = {},
                                            ErrorKind kind = ErrorKind::kDestination);
  ~DuckDatabase();
  DuckDatabase(const DuckDatabase&) = delete;
  DuckDatabase& operator=(const DuckDatabase&) = delete;
  _duckdb_database* handle() const { return db_; }
  const std::string& path() const { return path_; }

 private:
  DuckDatabase() = default;
  _duckdb_database* db_ = nullptr;
  std::string path_;
};

/// Rows of a small result as text (NULL = nullopt); for metadata queries and tests.
struct TextRows {
  std::vector<std::string> columns;
  std::vector<std::vector<std::optional<std::string>>> rows;
};

/// One connection; not thread-safe, use one per thread.
class DuckConnection {
 public:
  explicit DuckConnection(std::shared_ptr<DuckDatabase> db,
                          ErrorKind kind = ErrorKind::kDestination);
  ~DuckConnection();
  DuckConnection(const DuckConnection&) = delete;
  DuckConnection& operator=(const DuckConnection&) = delete;

  /// Run one or more statements; on failure throws Error(kind) with DuckDB's message and `what`.
  void Execute(std::string_view sql, std::string_view what = {});
  /// Run a query and return all rows as text (values cast with DuckDB's own VARCHAR cast).
  TextRows QueryText(std::string_view sql, std::string_view what = {});
  /// Single value of a one-row, one-column query, as text; nullopt for NULL or no row.
  std::optional<std::string> QueryScalar(std::string_view sql, std::string_view what = {});
  /// Stream a query's result as batches of up to `batch_rows` rows (multiples of DuckDB's vector
  /// size). Column types outside cdlt's physical types must be cast in the SQL (see
  /// ScanSelectList).
  void StreamBatches(std::string_view sql, size_t batch_rows,
                     const std::function<void(Batch&)>& on_batch, std::string_view what = {});
  /// A SELECT list over `relation` (a FROM-clause expression such as read_csv(...)) that casts
  /// every column DuckDB may produce into one that maps to a cdlt physical type (unsigned → wider
  /// signed, nested → JSON, intervals → text...).
  std::string ScanSelectList(std::string_view relation, std::string_view what = {});

  _duckdb_connection* handle() const { return con_; }
  ErrorKind kind() const { return kind_; }

 private:
  std::shared_ptr<DuckDatabase> db_;
  _duckdb_connection* con_ = nullptr;
  ErrorKind kind_;
};

/// Keeps the scratch database of the ParquetStreamWriters open while it lives. Each writer holds
/// it too, and it closes (returning its memory) when the last holder is gone; a stage that writes
/// many files holds one so they do not each open DuckDB.
class ParquetWriterSession {
 public:
  ParquetWriterSession();
  ~ParquetWriterSession();
  ParquetWriterSession(const ParquetWriterSession&) = delete;
  ParquetWriterSession& operator=(const ParquetWriterSession&) = delete;

 private:
  std::shared_ptr<DuckDatabase> db_;
};

/// Whether the ParquetStreamWriters' scratch database is open (for tests).
bool ParquetWriterDatabaseIsOpen();

/// Writes batches to one Parquet file as a stream: a DuckDB COPY pulls them through a table
/// function from a small bounded queue, so memory stays at a few batches whatever the file size.
class ParquetStreamWriter {
 public:
  /// Starts the COPY to `path` for columns `fields`. `compression` is a DuckDB Parquet codec name.
  ParquetStreamWriter(std::string path, Fields fields, std::string compression = "zstd");
  ~ParquetStreamWriter();
  ParquetStreamWriter(const ParquetStreamWriter&) = delete;
  ParquetStreamWriter& operator=(const ParquetStreamWriter&) = delete;

  /// Queue a batch whose fields equal the writer's (blocks while the queue is full).
  void Write(std::shared_ptr<const Batch> batch);
  /// Finish the file; throws when the COPY failed. Called by the destructor if not called before
  /// (errors then are only logged).
  void Close();
  const std::string& path() const { return path_; }

  struct State;

 private:
  std::string path_;
  std::unique_ptr<State> state_;
};

/// Quote a string literal ('it''s').
std::string QuoteLiteral(std::string_view value);

}  // namespace cdlt::db
