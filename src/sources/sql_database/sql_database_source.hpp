#pragma once

// The `sql_database` source for PostgreSQL: one resource per table of a schema, reflected from the
// catalog in one query, read with `COPY (SELECT ...) TO STDOUT (FORMAT binary)` and decoded
// straight into batches of `chunk_size` rows. Tables are read in parallel (one connection each);
// a large table is split into key or ctid ranges read over several connections that share one
// exported snapshot (or, with snapshot = "per_chunk", each range in its own short transaction).

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "cdlt/resource.hpp"
#include "db/pg_conn.hpp"
#include "extract/incremental.hpp"
#include "sources/sql_database/pg_types.hpp"

namespace cdlt::config {
class Config;
}

namespace cdlt::sources::sql_database {

inline constexpr int64_t kDefaultChunkSize = 50000;

/// How the readers of one split table see the data.
enum class SnapshotMode {
  kPerTable,  ///< one exported snapshot shared by all readers of a table (consistent)
  kPerChunk,  ///< every range in its own short transaction (no long-lived snapshot)
};

/// Where an incremental read stops (cdlt's addition to dlt's incremental).
enum class UpperBound {
  kNone,  ///< dlt's behaviour: every row committed when the read starts
  /// Below the start of the oldest transaction still open when the read starts: rows those
  /// transactions commit later (with cursor values from the database clock) are read next run.
  kSnapshot,
};

struct TableOptions {
  int64_t chunk_size = kDefaultChunkSize;
  std::vector<std::string> included_columns;  ///< empty = all
  std::vector<std::string> excluded_columns;
  SnapshotMode snapshot = SnapshotMode::kPerTable;
  /// Split this table into ranges read in parallel when it is large enough; false = one reader.
  bool split = true;
  /// Rows below which a table is never split (default: 4 × chunk_size).
  std::optional<int64_t> min_split_rows;
  /// dlt's incremental: pushed down as WHERE/ORDER BY, then filtered and de-duplicated in the
  /// engine; its state lives in the resource state. An incremental table is read by one
  /// connection.
  std::optional<pipeline::IncrementalSpec> incremental;
  /// `upper_bound`: "none" (default) or "snapshot"; timestamp/date cursors only.
  UpperBound upper_bound = UpperBound::kNone;
  /// `upper_bound_time_zone`: the zone a `timestamp` (without time zone) or `date` cursor is
  /// written in, used to express the bound in the cursor's terms.
  std::string upper_bound_time_zone = "UTC";
};

struct SqlDatabaseOptions {
  db::PgCredentials credentials;
  std::string schema = "public";
  std::optional<std::vector<std::string>> table_names;  ///< nullopt = every table of the schema
  bool include_views = false;
  ReflectionLevel reflection_level = ReflectionLevel::kFull;
  /// Connections per split table; 0 = extract.workers.
  int pool_size = 0;
  TableOptions defaults;
  std::map<std::string, TableOptions> tables;  ///< per-table overrides, by source table name
};

/// One reflected table.
struct PgTableInfo {
  std::string name;
  char relkind = 'r';
  double reltuples = -1;  ///< the planner's estimate (-1 = never analyzed)
  int64_t pages = 0;
  std::vector<PgColumnInfo> columns;
  std::vector<std::string> primary_key;  ///< in key order
};

/// Reflect the tables of `schema` in one catalog query (views only with include_views or when
/// named). Unknown schema or table → Error(kSource) naming it and listing what exists.
std::vector<PgTableInfo> ReflectTables(db::PgConnection& conn, const std::string& schema,
                                       const std::optional<std::vector<std::string>>& names,
                                       bool include_views);

/// Build the source from options: connects once to reflect, then one parallelized resource per
/// table, with primary_key hints from the catalog.
Source MakeSqlDatabaseSource(const SqlDatabaseOptions& options);

/// Build the source from `sources.sql_database.*` config (dlt's keys: credentials, schema,
/// table_names, include_views, chunk_size, reflection_level, backend, plus per-table sections with
/// chunk_size, included_columns, excluded_columns, add_limit and the resource hints; cdlt adds
/// snapshot, pool_size, connect_timeout, upper_bound and upper_bound_time_zone).
Source MakeSqlDatabaseSource(const config::Config& config);

}  // namespace cdlt::sources::sql_database
