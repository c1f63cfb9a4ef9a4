#pragma once

// dlt's merge SQL (§8.3, §8.4) for DuckDB: the statements that move one root table's staging
// rows into its main table, run by DuckDbClient::CompletePackage in the package's final
// transaction.

#include <string>
#include <vector>

#include "schema/schema.hpp"

namespace cdlt::dest::duckdb {

/// Check that root table `root` can be merged with its strategy; return dlt's warnings (e.g. a
/// delete-insert without keys is loaded like append). Throws Error(kSchema, terminal) for an
/// unknown strategy, upsert / insert-only without a primary key, scd2 without its columns, or
/// nested tables without the _dlt_id / _dlt_root_id columns their merge needs.
std::vector<std::string> CheckMergeTable(const schema::Schema& schema, const std::string& root);

/// Return the SQL (statements ending in ';') that merges `staging` (the qualified staging table)
/// into `main` (the qualified main table) for root table `root`, following its merge strategy.
/// `boundary_sql` is the scd2 boundary timestamp when the table sets no x-boundary-timestamp.
std::string MergeSql(const schema::Schema& schema, const std::string& root, const std::string& main,
                     const std::string& staging, const std::string& boundary_sql);

/// The SQL expression (over the columns of a row of `table`) of scd2's row hash: 14 base64
/// characters (as dlt's ids) of the MD5 of the row's non-NULL data columns, by name, excluding
/// columns starting with _dlt and the scd2 columns, so a column added later with NULLs keeps the
/// hash.
std::string RowHashSql(const schema::Table& table);

}  // namespace cdlt::dest::duckdb
