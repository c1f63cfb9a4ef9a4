#include "sources/sql_database/sql_database_source.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <memory>
#include <mutex>
#include <set>
#include <utility>

#include "common/error.hpp"
#include "common/logging.hpp"
#include "config/config.hpp"
#include "sources/source_registry.hpp"
#include "sources/sql_database/copy_decoder.hpp"

namespace cdlt::sources::sql_database {
namespace {

constexpr std::string_view kSourceName = "sql_database";
// Sub-tables of [sources.sql_database] that are settings, not tables.
constexpr std::string_view kReservedSections[] = {"credentials", "engine_kwargs"};

// One query per schema: every column of every table (domains resolved to their base type), the
// primary key position, the planner's row estimate and the size in pages.
constexpr std::string_view kReflectSql = R"SQL(
SELECT c.relname, c.relkind::text, c.reltuples::float8,
       (pg_relation_size(c.oid) / current_setting('block_size')::int8)::int8 AS pages,
       a.attname, a.attnotnull, bt.typname, bt.typtype::text, bt.typcategory::text,
       CASE WHEN t.typtype = 'd' THEN t.typtypmod ELSE a.atttypmod END AS typmod,
       format_type(a.atttypid, a.atttypmod) AS declared,
       (SELECT k.n FROM pg_index i, unnest(i.indkey::int2[]) WITH ORDINALITY k(att, n)
         WHERE i.indrelid = c.oid AND i.indisprimary AND k.att = a.attnum) AS pk_pos
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
JOIN pg_type t ON t.oid = a.atttypid
JOIN pg_type bt ON bt.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END
WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND NOT c.relispartition
ORDER BY c.relname, a.attnum
)SQL";

std::string JoinNames(const std::vector<std::string>& names, size_t max = 50) {
  std::string out;
  for (size_t i = 0; i < names.size() && i < max; ++i) out += (i ? ", " : "") + names[i];
  if (names.size() > max) out += fmt::format(", ... ({} in all)", names.size());
  return out.empty() ? "(none)" : out;
}

bool IsView(char relkind) { return relkind == 'v'; }

/// Reads one table: plans its columns, decides whether to split it and runs the readers.
class TableReader {
 public:
  TableReader(db::PgCredentials credentials, std::string schema, PgTableInfo info,
              TableOptions options, ReflectionLevel level, int pool_size)
      : credentials_(std::move(credentials)),
        schema_(std::move(schema)),
        info_(std::move(info)),
        options_(std::move(options)),
        level_(level),
        pool_size_(pool_size),
        where_(fmt::format("table {}.{} in {}", schema_, info_.name, credentials_.Describe())),
        qualified_(db::QuoteIdent(schema_) + "." + db::QuoteIdent(info_.name)) {}

  void Read(Emitter& emitter) {
    std::vector<PgColumnPlan> plan = Plan(emitter.hints());
    std::optional<int64_t> limit = emitter.limit();
    if (limit && *limit <= 0) return;
    if (options_.incremental) {
      ReadIncremental(plan, limit, emitter);
      return;
    }
    int readers = emitter.max_parallelism();
    if (pool_size_ > 0) readers = std::min(readers, pool_size_);
    if (limit || readers < 2 || !options_.split || !Splittable() ||
        EstimatedRows() < options_.min_split_rows.value_or(4 * options_.chunk_size)) {
      db::PgConnection conn(credentials_);
      std::optional<int64_t> rows;
      if (limit) rows = *limit * options_.chunk_size;
      CopyRange(conn, plan, "", rows, emitter);
      return;
    }
    ReadSplit(plan, readers, emitter);
  }

 private:
  /// WHERE cursor >= start [AND cursor < end] [ORDER BY cursor], dlt's pushdown (§11.1), then
  /// the in-engine filter drops the boundary rows loaded by the last run.
  void ReadIncremental(const std::vector<PgColumnPlan>& plan, std::optional<int64_t> limit,
                       Emitter& emitter) {
    const pipeline::IncrementalSpec& spec = *options_.incremental;
    const PgColumnInfo* cursor = nullptr;
    for (const auto& c : info_.columns) {
      if (c.name == spec.cursor_path) cursor = &c;
    }
    if (cursor == nullptr) {
      Throw(ErrorKind::kConfig,
            "incremental cursor_path {} is not a column of {} (config key "
            "sources.sql_database.{}.incremental)",
            spec.cursor_path, where_, info_.name);
    }
    if (std::none_of(plan.begin(), plan.end(),
                     [&](const auto& c) { return c.name == cursor->name; })) {
      Throw(ErrorKind::kConfig, "incremental cursor column {} of {} is excluded from the read",
            spec.cursor_path, where_);
    }
    nlohmann::json& state = emitter.resource_state()["incremental"][spec.cursor_path];
    pipeline::IncrementalFilter filter(spec, state, info_.primary_key, where_);
    const std::string column = db::QuoteIdent(cursor->name);
    auto literal = [&](const nlohmann::json& v) {
      std::string text = v.is_string() ? v.get<std::string>() : v.dump();
      return db::PgQuoteLiteral(text) + "::" + cursor->declared;
    };
    std::vector<std::string> conditions;
    const char* ge = spec.use_min ? "<=" : ">=";
    const char* gt = spec.use_min ? "<" : ">";
    const char* lt = spec.use_min ? ">" : "<";
    const char* le = spec.use_min ? ">=" : "<=";
    if (filter.start_value()) {
      conditions.push_back(fmt::format("{} {} {}", column, filter.start_open() ? gt : ge,
                                       literal(*filter.start_value())));
    }
    if (spec.end_value) {
      conditions.push_back(fmt::format("{} {} {}", column, spec.range_end_closed ? le : lt,
                                       literal(*spec.end_value)));
    }
    db::PgConnection conn(credentials_);
    if (options_.upper_bound == UpperBound::kSnapshot) {
      // Asked before the COPY takes its snapshot: a transaction open at that snapshot was either
      // open now (and bounds us) or starts later (after the clock read here).
      conditions.push_back(fmt::format("{} < {}", column, SnapshotUpperBound(conn, *cursor)));
    }
    std::string where;
    for (const auto& c : conditions) where += (where.empty() ? "" : " AND ") + c;
    using Missing = pipeline::IncrementalSpec::OnMissing;
    if (spec.on_cursor_value_missing == Missing::kInclude && !where.empty()) {
      where = fmt::format("({}) OR {} IS NULL", where, column);
    } else if (spec.on_cursor_value_missing == Missing::kExclude) {
      where += (where.empty() ? "" : " AND ") + column + " IS NOT NULL";
    }
    std::string order;
    if (spec.row_order)
      order = fmt::format("{} {}", column, *spec.row_order == "asc" ? "ASC" : "DESC");
    pipeline::IncrementalEmitter filtering(emitter, filter);
    std::optional<int64_t> rows;
    if (limit) rows = *limit * options_.chunk_size;
    CopyRange(conn, plan, where, rows, filtering, order);
    state = filter.State();
    log::Info("{}: incremental on {} from {} read {} rows, kept {}", where_, spec.cursor_path,
              filter.start_value() ? filter.start_value()->dump() : "the beginning",
              filter.rows_seen(), filter.rows_kept());
  }

  /// upper_bound = "snapshot": the SQL expression of the bound in the cursor's type, the earlier
  /// of the clock and the start of the oldest transaction open in this database. Rows stamped by
  /// the database clock (now(), a trigger) in a transaction that commits after our read carry a
  /// value at or above its start, so they stay above the bound and the next run (cursor >= the
  /// last value read) reads them.
  std::string SnapshotUpperBound(db::PgConnection& conn, const PgColumnInfo& cursor) {
    const std::string& type = cursor.base_type;
    const std::string key =
        fmt::format("config key sources.sql_database.{}.upper_bound", info_.name);
    if (type != "timestamptz" && type != "timestamp" && type != "date") {
      Throw(ErrorKind::kConfig,
            "{}: upper_bound = \"snapshot\" needs a timestamp or date cursor set by the "
            "database clock, but {} of {} is {}",
            key, cursor.name, where_, cursor.declared);
    }
    if (options_.incremental->use_min) {
      Throw(ErrorKind::kConfig,
            "{}: upper_bound = \"snapshot\" bounds a cursor that grows; it does not apply with "
            "last_value_func = \"min\" ({})",
            key, where_);
    }
    db::PgRows r = conn.Query(
        "WITH others AS (SELECT xact_start, query FROM pg_stat_activity WHERE datname = "
        "current_database() AND pid <> pg_backend_pid() AND backend_type IS DISTINCT FROM "
        "'autovacuum worker'), oldest AS (SELECT min(xact_start) AS t FROM others) "
        "SELECT pg_is_in_recovery(), LEAST(clock_timestamp(), oldest.t)::text, "
        "oldest.t IS NOT NULL AND oldest.t < clock_timestamp(), "
        "(SELECT count(*) FROM others WHERE query = '<insufficient privilege>') FROM oldest",
        {}, fmt::format("finding the upper bound of {}", where_));
    const auto& row = r.rows.at(0);
    if (*row[0] == "t") {
      Throw(ErrorKind::kConfig,
            "{}: upper_bound = \"snapshot\" reads the open transactions of the primary, but {} "
            "is a standby; read {} from the primary or drop the key",
            key, credentials_.Describe(), info_.name);
    }
    if (*row[3] != "0") {
      Throw(ErrorKind::kSource,
            "{}: upper_bound = \"snapshot\" must see every session's transaction start, but the "
            "user of {} cannot see {} session(s) in pg_stat_activity (GRANT pg_read_all_stats TO "
            "that user, or drop the key)",
            key, credentials_.Describe(), *row[3]);
    }
    const std::string& bound = *row[1];
    log::Info(
        "{}: reading {} below {} ({})", where_, cursor.name, bound,
        *row[2] == "t" ? "the start of the oldest open transaction" : "no other transaction open");
    std::string ts = db::PgQuoteLiteral(bound) + "::timestamptz";
    if (type == "timestamptz") return ts;
    std::string local =
        fmt::format("({} AT TIME ZONE {})", ts, db::PgQuoteLiteral(options_.upper_bound_time_zone));
    return type == "date" ? local + "::date" : local;
  }

  std::vector<PgColumnPlan> Plan(const ResourceHints* hints) {
    std::set<std::string> included(options_.included_columns.begin(),
                                   options_.included_columns.end());
    std::set<std::string> excluded(options_.excluded_columns.begin(),
                                   options_.excluded_columns.end());
    std::set<std::string> known;
    for (const auto& c : info_.columns) known.insert(c.name);
    for (const auto* list : {&options_.included_columns, &options_.excluded_columns}) {
      for (const auto& name : *list) {
        if (!known.count(name)) {
          Throw(ErrorKind::kConfig,
                "column {} named in included_columns/excluded_columns is not a column of {}; its "
                "columns are: {}",
                name, where_, JoinNames({known.begin(), known.end()}));
        }
      }
    }
    std::vector<PgColumnPlan> plan;
    for (const auto& column : info_.columns) {
      if (!included.empty() && !included.count(column.name)) continue;
      if (excluded.count(column.name)) continue;
      const ColumnHint* hint = nullptr;
      if (hints != nullptr) {
        for (const auto& h : hints->columns) {
          if (h.name == column.name) hint = &h;
        }
      }
      std::string warning;
      plan.push_back(PlanColumn(column, level_, hint, &warning));
      if (!warning.empty()) log::Warn("column {} of {}: {}", column.name, where_, warning);
    }
    if (plan.empty()) {
      Throw(ErrorKind::kConfig,
            "no columns left to read from {} after included_columns/excluded_columns", where_);
    }
    return plan;
  }

  bool Splittable() const {
    if (IsIntegerKey()) return true;
    return info_.relkind == 'r' || info_.relkind == 'm';  // ctid ranges
  }

  bool IsIntegerKey() const {
    if (info_.primary_key.size() != 1) return false;
    for (const auto& c : info_.columns) {
      if (c.name == info_.primary_key[0]) {
        return c.base_type == "int2" || c.base_type == "int4" || c.base_type == "int8";
      }
    }
    return false;
  }

  int64_t EstimatedRows() const {
    if (info_.reltuples >= 0) return static_cast<int64_t>(info_.reltuples);
    // Never analyzed: guess from the size (about 100 bytes a row).
    return info_.pages * 80;
  }

  std::string SelectSql(const std::vector<PgColumnPlan>& plan, const std::string& where,
                        std::optional<int64_t> rows, const std::string& order = "") const {
    std::string select;
    for (const auto& c : plan) select += (select.empty() ? "" : ", ") + c.select_expr;
    std::string sql = fmt::format("COPY (SELECT {} FROM {}", select, qualified_);
    if (!where.empty()) sql += " WHERE " + where;
    if (!order.empty()) sql += " ORDER BY " + order;
    if (rows) sql += fmt::format(" LIMIT {}", *rows);
    sql += ") TO STDOUT (FORMAT binary)";
    return sql;
  }

  /// Stream one range into `emitter`; false when the emitter asked to stop.
  bool CopyRange(db::PgConnection& conn, const std::vector<PgColumnPlan>& plan,
                 const std::string& where, std::optional<int64_t> rows, Emitter& emitter,
                 const std::string& order = "") {
    bool go_on = true;
    CopyDecoder decoder(plan, static_cast<size_t>(options_.chunk_size), where_,
                        [&](Batch batch) { return go_on = emitter.Emit(std::move(batch)); });
    std::string what = fmt::format("reading {}", where_);
    try {
      conn.CopyOut(
          SelectSql(plan, where, rows, order),
          [&](const char* data, size_t size) { return decoder.Feed(data, size); }, what);
    } catch (Error& e) {
      const std::string& state = conn.last_sqlstate();
      if (state == "42501") {
        throw Error(ErrorKind::kSource,
                    fmt::format("permission denied: the user of {} may not SELECT from {}.{} "
                                "(grant it, or leave the table out with table_names)",
                                credentials_.Describe(), schema_, info_.name));
      }
      if (state == "42P01") {
        throw Error(ErrorKind::kSource,
                    fmt::format("{} no longer exists (dropped while the pipeline ran?)", where_));
      }
      throw;
    }
    if (go_on) go_on = decoder.Finish();
    return go_on;
  }

  /// Ranges covering the whole table: by the integer primary key, else by ctid pages. The last
  /// range is open-ended so rows beyond the planned bounds are never missed.
  std::vector<std::string> PlanRanges(db::PgConnection& conn, int n) {
    std::vector<std::string> ranges;
    if (IsIntegerKey()) {
      std::string key = db::QuoteIdent(info_.primary_key[0]);
      db::PgRows r =
          conn.Query(fmt::format("SELECT min({0})::int8, max({0})::int8 FROM {1}", key, qualified_),
                     {}, fmt::format("planning ranges of {}", where_));
      if (r.rows.empty() || !r.rows[0][0] || !r.rows[0][1]) return {""};
      __int128 lo = std::stoll(*r.rows[0][0]);
      __int128 hi = std::stoll(*r.rows[0][1]);
      __int128 width = (hi - lo) / n + 1;
      std::vector<int64_t> bounds;
      for (int i = 1; i < n; ++i) {
        __int128 b = lo + width * i;
        if (b > hi) break;
        bounds.push_back(static_cast<int64_t>(b));
      }
      if (bounds.empty()) return {""};
      ranges.push_back(fmt::format("{} < {}", key, bounds.front()));
      for (size_t i = 0; i + 1 < bounds.size(); ++i) {
        ranges.push_back(fmt::format("{0} >= {1} AND {0} < {2}", key, bounds[i], bounds[i + 1]));
      }
      ranges.push_back(fmt::format("{} >= {}", key, bounds.back()));
      return ranges;
    }
    db::PgRows r = conn.Query(
        "SELECT (pg_relation_size($1::regclass) / current_setting('block_size')::int8)::int8",
        {qualified_}, fmt::format("planning ranges of {}", where_));
    int64_t pages = r.rows.empty() || !r.rows[0][0] ? 0 : std::stoll(*r.rows[0][0]);
    if (pages < 2) return {""};
    int64_t per = (pages + n - 1) / n;
    std::vector<int64_t> bounds;
    for (int64_t b = per; b < pages; b += per) bounds.push_back(b);
    if (bounds.empty()) return {""};
    ranges.push_back(fmt::format("ctid < '({},0)'::tid", bounds.front()));
    for (size_t i = 0; i + 1 < bounds.size(); ++i) {
      ranges.push_back(
          fmt::format("ctid >= '({},0)'::tid AND ctid < '({},0)'::tid", bounds[i], bounds[i + 1]));
    }
    ranges.push_back(fmt::format("ctid >= '({},0)'::tid", bounds.back()));
    return ranges;
  }

  void ReadSplit(const std::vector<PgColumnPlan>& plan, int readers, Emitter& emitter) {
    SnapshotMode mode = options_.snapshot;
    db::PgConnection coordinator(credentials_);
    std::string snapshot;
    if (mode == SnapshotMode::kPerTable) {
      coordinator.Execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");
      try {
        db::PgRows r = coordinator.Query("SELECT pg_export_snapshot()");
        snapshot = *r.rows.at(0).at(0);
      } catch (const Error& e) {
        log::Warn(
            "{}: cannot export a snapshot ({}); reading its ranges each in its own "
            "transaction (snapshot = \"per_chunk\")",
            where_, e.message());
        coordinator.Execute("ROLLBACK");
        mode = SnapshotMode::kPerChunk;
      }
    }
    // More ranges than readers balance uneven ranges; per_chunk wants ranges of about one chunk
    // so that each transaction stays short.
    int64_t n = static_cast<int64_t>(readers) * 4;
    if (mode == SnapshotMode::kPerChunk) {
      n = std::max<int64_t>(n, EstimatedRows() / std::max<int64_t>(options_.chunk_size, 1));
    }
    n = std::min<int64_t>(n, 100000);
    std::vector<std::string> ranges = PlanRanges(coordinator, static_cast<int>(n));
    log::Debug("{}: {} ranges over {} readers ({})", where_, ranges.size(), readers,
               mode == SnapshotMode::kPerTable ? "one shared snapshot" : "per_chunk");
    auto next = std::make_shared<std::atomic<size_t>>(0);
    size_t n_readers = std::min<size_t>(static_cast<size_t>(readers), ranges.size());
    std::vector<std::function<void(Emitter&)>> parts;
    for (size_t i = 0; i < n_readers; ++i) {
      parts.push_back([&, next](Emitter& part) {
        db::PgConnection conn(credentials_);
        if (!snapshot.empty()) {
          conn.Execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");
          conn.Execute("SET TRANSACTION SNAPSHOT " + db::PgQuoteLiteral(snapshot),
                       fmt::format("importing the snapshot of {}", where_));
        }
        for (size_t r = (*next)++; r < ranges.size(); r = (*next)++) {
          if (!CopyRange(conn, plan, ranges[r], std::nullopt, part)) return;
        }
        if (!snapshot.empty()) conn.Execute("COMMIT");
      });
    }
    emitter.EmitParallel(std::move(parts));
    if (!snapshot.empty()) coordinator.Execute("COMMIT");
  }

  db::PgCredentials credentials_;
  std::string schema_;
  PgTableInfo info_;
  TableOptions options_;
  ReflectionLevel level_;
  int pool_size_;
  std::string where_;
  std::string qualified_;
};

Source BuildSource(const SqlDatabaseOptions& options, std::vector<PgTableInfo> tables) {
  Source source{std::string(kSourceName), {}};
  for (PgTableInfo& info : tables) {
    auto it = options.tables.find(info.name);
    const TableOptions& table_options = it == options.tables.end() ? options.defaults : it->second;
    std::vector<std::string> primary_key = info.primary_key;
    std::vector<ColumnHint> column_hints;
    if (options.reflection_level == ReflectionLevel::kFullWithPrecision) {
      for (const auto& c : info.columns) {
        std::string ignored;
        PgColumnPlan plan = PlanColumn(c, options.reflection_level, nullptr, &ignored);
        if (plan.text_precision) {
          ColumnHint hint;
          hint.name = c.name;
          hint.precision = *plan.text_precision;
          column_hints.push_back(hint);
        }
      }
    }
    std::string name = info.name;
    auto reader =
        std::make_shared<TableReader>(options.credentials, options.schema, std::move(info),
                                      table_options, options.reflection_level, options.pool_size);
    Resource resource(name, [reader](Emitter& emitter) { reader->Read(emitter); });
    resource.parallelized();
    if (!primary_key.empty()) resource.primary_key(primary_key);
    if (!column_hints.empty()) resource.columns(column_hints);
    source.resources.push_back(std::move(resource));
  }
  return source;
}

template <typename T>
T ParseChoice(const config::Config& config, const std::vector<std::string>& sections,
              std::string_view key, const std::vector<std::pair<std::string_view, T>>& choices,
              T fallback) {
  std::optional<std::string> value = config.GetString(sections, key);
  if (!value) return fallback;
  std::string allowed;
  for (const auto& [name, v] : choices) {
    if (*value == name) return v;
    allowed += (allowed.empty() ? "\"" : ", \"") + std::string(name) + "\"";
  }
  std::optional<config::ConfigValue> found = config.Find(sections, key);
  Throw(ErrorKind::kConfig, "config key {} ({}): unknown value \"{}\"; allowed values are {}",
        found ? found->origin.key : std::string(key), found ? found->origin.provider : "", *value,
        allowed);
}

TableOptions ReadTableOptions(const config::Config& config,
                              const std::vector<std::string>& sections) {
  TableOptions t;
  t.chunk_size =
      config.GetIntInRange(sections, "chunk_size", 1, std::numeric_limits<int32_t>::max())
          .value_or(kDefaultChunkSize);
  t.included_columns =
      config.GetStringList(sections, "included_columns").value_or(std::vector<std::string>{});
  t.excluded_columns =
      config.GetStringList(sections, "excluded_columns").value_or(std::vector<std::string>{});
  t.snapshot = ParseChoice<SnapshotMode>(
      config, sections, "snapshot",
      {{"per_table", SnapshotMode::kPerTable}, {"per_chunk", SnapshotMode::kPerChunk}},
      SnapshotMode::kPerTable);
  t.upper_bound = ParseChoice<UpperBound>(
      config, sections, "upper_bound",
      {{"none", UpperBound::kNone}, {"snapshot", UpperBound::kSnapshot}}, UpperBound::kNone);
  t.upper_bound_time_zone = config.GetString(sections, "upper_bound_time_zone").value_or("UTC");
  t.split = config.GetBool(sections, "parallel_ranges").value_or(true);
  t.min_split_rows =
      config.GetIntInRange(sections, "min_split_rows", 0, std::numeric_limits<int64_t>::max());
  // Only a table's own section: an incremental names one table's cursor column.
  if (sections.size() == 3) {
    std::string key = fmt::format("sources.{}.{}.incremental", sections[1], sections[2]);
    if (config.Find({}, key)) {
      t.incremental =
          pipeline::IncrementalSpec::FromJson(*config.GetObject({}, key), "config key " + key);
    }
    // A bound set for this table alone bounds its cursor: without one it would do nothing.
    std::string bound = fmt::format("sources.{}.{}.upper_bound", sections[1], sections[2]);
    if (t.upper_bound == UpperBound::kSnapshot && !t.incremental && config.Find({}, bound)) {
      Throw(ErrorKind::kConfig,
            "config key {}: upper_bound = \"snapshot\" bounds an incremental cursor, but table "
            "{} has none; set {} or drop the key",
            bound, sections[2], key);
    }
  }
  return t;
}

db::PgCredentials ReadCredentials(const config::Config& config) {
  const std::vector<std::string> sections = {"sources", std::string(kSourceName)};
  std::optional<config::ConfigValue> found = config.Find(sections, "credentials");
  if (!found) {
    config.ThrowMissing(sections, "credentials",
                        "a URL such as postgresql://user:password@host:5432/database (in "
                        ".dlt/secrets.toml or the environment)");
  }
  db::PgCredentials credentials;
  if (found->value.is_object()) {
    const std::vector<std::string> cs = {"sources", std::string(kSourceName), "credentials"};
    std::string driver = config.GetString(cs, "drivername").value_or("postgresql");
    if (driver.substr(0, driver.find('+')) != "postgresql" &&
        driver.substr(0, driver.find('+')) != "postgres") {
      Throw(ErrorKind::kConfig,
            "config key sources.sql_database.credentials.drivername: unsupported driver \"{}\" "
            "(this source reads PostgreSQL)",
            driver);
    }
    credentials.host = config.GetString(cs, "host").value_or("localhost");
    credentials.port = static_cast<int>(config.GetIntInRange(cs, "port", 1, 65535).value_or(5432));
    credentials.database = config.GetString(cs, "database").value_or("");
    credentials.username = config.GetString(cs, "username").value_or("");
    if (auto password = config.GetSecret(cs, "password")) credentials.password = *password;
  } else {
    std::optional<Secret<std::string>> url = config.GetSecret(sections, "credentials");
    credentials = db::PgCredentials::FromUrl(
        url->Reveal(),
        fmt::format("config key {} ({})", found->origin.key, found->origin.provider));
  }
  if (auto timeout = config.GetIntInRange(sections, "connect_timeout", 1, 3600)) {
    credentials.connect_timeout = static_cast<int>(*timeout);
  }
  return credentials;
}

}  // namespace

std::vector<PgTableInfo> ReflectTables(db::PgConnection& conn, const std::string& schema,
                                       const std::optional<std::vector<std::string>>& names,
                                       bool include_views) {
  db::PgRows rows = conn.Query(kReflectSql, {schema}, fmt::format("reflecting schema {}", schema));
  std::vector<PgTableInfo> all;
  for (const auto& row : rows.rows) {
    const std::string& table = *row[0];
    if (all.empty() || all.back().name != table) {
      PgTableInfo info;
      info.name = table;
      info.relkind = (*row[1])[0];
      info.reltuples = std::stod(*row[2]);
      info.pages = std::stoll(*row[3]);
      all.push_back(std::move(info));
    }
    PgColumnInfo column;
    column.name = *row[4];
    column.not_null = *row[5] == "t";
    column.base_type = *row[6];
    column.typtype = (*row[7])[0];
    column.typcategory = (*row[8])[0];
    column.typmod = std::stoi(*row[9]);
    column.declared = *row[10];
    column.pk_position = row[11] ? std::stoi(*row[11]) : 0;
    all.back().columns.push_back(std::move(column));
  }
  for (auto& info : all) {
    std::vector<const PgColumnInfo*> key;
    for (const auto& c : info.columns) {
      if (c.pk_position > 0) key.push_back(&c);
    }
    std::sort(key.begin(), key.end(),
              [](const auto* a, const auto* b) { return a->pk_position < b->pk_position; });
    for (const auto* c : key) info.primary_key.push_back(c->name);
  }
  if (all.empty()) {
    db::PgRows exists = conn.Query("SELECT 1 FROM pg_namespace WHERE nspname = $1", {schema});
    if (exists.rows.empty()) {
      db::PgRows schemas = conn.Query(
          "SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> "
          "'information_schema' ORDER BY 1");
      std::vector<std::string> list;
      for (const auto& r : schemas.rows) list.push_back(*r[0]);
      Throw(ErrorKind::kSource,
            "schema {} not found in {} (config key sources.sql_database.schema); schemas there: {}",
            schema, conn.describe(), JoinNames(list));
    }
  }
  std::vector<PgTableInfo> out;
  if (!names) {
    for (auto& info : all) {
      if (!IsView(info.relkind) || include_views) out.push_back(std::move(info));
    }
    if (out.empty()) {
      log::Warn("schema {} in {} has no tables to read", schema, conn.describe());
    }
    return out;
  }
  for (const std::string& name : *names) {
    auto it = std::find_if(all.begin(), all.end(), [&](const auto& t) { return t.name == name; });
    if (it == all.end()) {
      std::vector<std::string> list;
      for (const auto& t : all) list.push_back(t.name);
      Throw(ErrorKind::kSource,
            "table {} not found in schema {} of {} (config key "
            "sources.sql_database.table_names); tables there: {}",
            name, schema, conn.describe(), JoinNames(list));
    }
    out.push_back(*it);
  }
  return out;
}

Source MakeSqlDatabaseSource(const SqlDatabaseOptions& options) {
  db::PgConnection conn(options.credentials);
  std::vector<PgTableInfo> tables =
      ReflectTables(conn, options.schema, options.table_names, options.include_views);
  return BuildSource(options, std::move(tables));
}

Source MakeSqlDatabaseSource(const config::Config& config) {
  const std::string source_name(kSourceName);
  const std::vector<std::string> sections = {"sources", source_name};
  SqlDatabaseOptions options;
  options.credentials = ReadCredentials(config);
  options.schema = config.GetString(sections, "schema").value_or("public");
  options.table_names = config.GetStringList(sections, "table_names");
  options.include_views = config.GetBool(sections, "include_views").value_or(false);
  options.reflection_level =
      ParseChoice<ReflectionLevel>(config, sections, "reflection_level",
                                   {{"minimal", ReflectionLevel::kMinimal},
                                    {"full", ReflectionLevel::kFull},
                                    {"full_with_precision", ReflectionLevel::kFullWithPrecision}},
                                   ReflectionLevel::kFull);
  if (auto backend = config.GetString(sections, "backend")) {
    static const std::set<std::string> kBackends = {"sqlalchemy", "pyarrow", "pandas",
                                                    "connectorx"};
    if (!kBackends.count(*backend)) {
      Throw(ErrorKind::kConfig,
            "config key sources.sql_database.backend: unknown backend \"{}\" (dlt's backends are "
            "sqlalchemy, pyarrow, pandas and connectorx)",
            *backend);
    }
    log::Info(
        "sql_database: backend \"{}\" accepted for compatibility; cdlt reads every table "
        "with its binary COPY reader",
        *backend);
  }
  options.pool_size =
      static_cast<int>(config.GetIntInRange(sections, "pool_size", 1, 1024).value_or(0));
  options.defaults = ReadTableOptions(config, sections);

  db::PgConnection conn(options.credentials);
  std::vector<PgTableInfo> tables =
      ReflectTables(conn, options.schema, options.table_names, options.include_views);
  std::set<std::string> names;
  for (const auto& t : tables) {
    names.insert(t.name);
    options.tables[t.name] = ReadTableOptions(config, {"sources", source_name, t.name});
  }
  for (const std::string& section : config.Subsections(sections)) {
    if (std::find(std::begin(kReservedSections), std::end(kReservedSections), section) !=
            std::end(kReservedSections) ||
        names.count(section)) {
      continue;
    }
    log::Warn("config section sources.sql_database.{} matches no table read from schema {}",
              section, options.schema);
  }
  Source source = BuildSource(options, std::move(tables));
  for (Resource& resource : source.resources) {
    const std::vector<std::string> table_sections = {"sources", source_name, resource.name()};
    if (auto limit = config.GetIntInRange(table_sections, "add_limit", 0,
                                          std::numeric_limits<int64_t>::max())) {
      resource.add_limit(*limit);
    }
    std::vector<ColumnHint> reflected = resource.hints().columns;
    ApplyResourceHints(resource, config, source_name);
    auto& columns = resource.mutable_hints().columns;
    for (const auto& hint : reflected) {
      if (std::none_of(columns.begin(), columns.end(),
                       [&](const ColumnHint& c) { return c.name == hint.name; })) {
        columns.push_back(hint);
      }
    }
  }
  return source;
}

}  // namespace cdlt::sources::sql_database
