#include "destinations/duckdb/duckdb_destination.hpp"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <thread>

#include "common/logging.hpp"
#include "common/text.hpp"
#include "config/config.hpp"
#include "destinations/duckdb/merge_sql.hpp"

namespace cdlt::dest::duckdb {

using db::QuoteIdent;
using db::QuoteLiteral;
namespace fs = std::filesystem;

namespace {

/// The ledger of committed jobs: a job's rows and its ledger row commit together, so a job found
/// here after a crash is finished rather than loaded twice.
constexpr const char* kJobsTable = "_cdlt_loaded_jobs";

bool IsTransient(const std::string& message) {
  return message.find("Conflict") != std::string::npos ||
         message.find("TransactionContext") != std::string::npos ||
         message.find("Could not set lock") != std::string::npos;
}

/// Run `sql` inside BEGIN/COMMIT; roll back and rethrow (transient when DuckDB says so).
void InTransaction(db::DuckConnection& con, const std::string& sql, std::string_view what) {
  con.Execute("BEGIN TRANSACTION", what);
  try {
    con.Execute(sql, what);
    con.Execute("COMMIT", what);
  } catch (const Error& e) {
    try {
      con.Execute("ROLLBACK");
    } catch (const std::exception& r) {
      // DuckDB can run out of memory rolling back, too: the connection still holds the aborted
      // transaction, so a retry must use a new one (closing this one ends the transaction).
      log::Info("{}: rollback failed: {}", what, r.what());
    }
    throw Error(e.kind(), e.what(), IsTransient(e.what()) ? Retry::kTransient : e.retry());
  }
}

}  // namespace

std::string SqlType(const schema::Column& c) {
  using schema::DataType;
  switch (*c.data_type) {
    case DataType::kText:
      return "VARCHAR";
    case DataType::kDouble:
      return "DOUBLE";
    case DataType::kBool:
      return "BOOLEAN";
    case DataType::kDate:
      return "DATE";
    case DataType::kTime:
      return "TIME";
    case DataType::kTimestamp: {
      if (c.timezone.value_or(true)) return "TIMESTAMP WITH TIME ZONE";
      int p = c.precision.value_or(6);
      if (p == 0) return "TIMESTAMP_S";
      if (p <= 3) return "TIMESTAMP_MS";
      if (p <= 6) return "TIMESTAMP";
      return "TIMESTAMP_NS";
    }
    case DataType::kBigint: {
      int p = c.precision.value_or(64);
      if (p <= 8) return "TINYINT";
      if (p <= 16) return "SMALLINT";
      if (p <= 32) return "INTEGER";
      if (p <= 64) return "BIGINT";
      return "HUGEINT";
    }
    case DataType::kBinary:
      return "BLOB";
    case DataType::kJson:
      return "JSON";
    case DataType::kDecimal:
      if (c.precision) return fmt::format("DECIMAL({},{})", *c.precision, c.scale.value_or(0));
      return "DECIMAL(38,9)";
    case DataType::kWei:
      return "DECIMAL(38,0)";
  }
  return "VARCHAR";
}

std::string ResolveDatabasePath(const config::Config& config, const std::string& pipeline_name,
                                const fs::path& project_dir, const fs::path& working_dir) {
  std::optional<std::string> database;
  const std::vector<std::string> sections = {"destination", "duckdb"};
  if (auto found = config.Find(sections, "credentials")) {
    if (found->value.is_string()) {
      database = found->value.get<std::string>();
    } else if (found->value.is_object() && found->value.contains("database") &&
               found->value["database"].is_string()) {
      database = found->value["database"].get<std::string>();
    } else {
      throw Error(ErrorKind::kConfig,
                  fmt::format("config key destination.duckdb.credentials ({} {}): expected a "
                              "path string or a table with `database`",
                              found->origin.provider, found->origin.key));
    }
  }
  if (!database || database->empty()) return (project_dir / (pipeline_name + ".duckdb")).string();
  std::string db = *database;
  if (db.rfind("duckdb:///", 0) == 0) db = db.substr(10);
  if (db.rfind("duckdb://", 0) == 0) db = db.substr(9);
  if (db == ":memory:") {
    throw Error(ErrorKind::kConfig,
                "config key destination.duckdb.credentials: :memory: is not supported for a "
                "pipeline (the data would be gone after the run); give a file path");
  }
  if (db == ":pipeline:") return (working_dir / (pipeline_name + ".duckdb")).string();
  fs::path p(db);
  if (p.is_relative()) p = project_dir / p;
  return p.lexically_normal().string();
}

std::string ReplaceStrategyFromConfig(const config::Config& config) {
  auto found = config.Find({"destination", "duckdb"}, "replace_strategy");
  if (!found) return kInsertFromStaging;
  if (!found->value.is_string() || (found->value.get<std::string>() != kTruncateAndInsert &&
                                    found->value.get<std::string>() != kInsertFromStaging)) {
    throw Error(ErrorKind::kConfig,
                fmt::format("config key {} ({}): unknown replace strategy {}: allowed values are "
                            "{}, {}",
                            found->origin.key, found->origin.provider, found->value.dump(),
                            kTruncateAndInsert, kInsertFromStaging));
  }
  return found->value.get<std::string>();
}

namespace {

/// `per_thread` MB per DuckDB thread (0 = one per core), at least `floor` MB.
std::string PerThreadLimit(int threads, int64_t per_thread, int64_t floor) {
  int64_t n = threads > 0 ? threads : static_cast<int64_t>(std::thread::hardware_concurrency());
  return fmt::format("{}MB", std::max<int64_t>(floor, per_thread * std::max<int64_t>(n, 1)));
}

}  // namespace

std::string DefaultMemoryLimit(int threads) { return PerThreadLimit(threads, 128, 256); }

InsertPlan PlanInserts(int threads, int concurrent_jobs, const std::vector<int64_t>& job_rows) {
  threads = std::max(threads, 1);
  concurrent_jobs = std::max(concurrent_jobs, 1);
  int64_t large = std::count_if(job_rows.begin(), job_rows.end(), [](int64_t rows) {
    return rows <= 0 || rows >= 2 * kDuckDbRowGroupRows;
  });
  int64_t large_at_once = std::min<int64_t>(large, concurrent_jobs);
  InsertPlan plan;
  plan.threads = large_at_once > 0 ? threads : 1;
  plan.memory_limit =
      fmt::format("{}MB", std::max<int64_t>(64, (large_at_once > 0 ? 32 * threads : 0) +
                                                    64 * (concurrent_jobs - large_at_once)));
  return plan;
}

namespace {

/// `destination.duckdb.<key>`, trimmed, when set: a memory size DuckDB accepts for memory_limit
/// (or "none"); else Error(kConfig) naming the key.
std::optional<std::string> MemorySize(const config::Config& config, const std::string& key) {
  const std::vector<std::string> sections = {"destination", "duckdb"};
  std::optional<std::string> set = config.GetString(sections, key);
  if (!set) return std::nullopt;
  const std::string& original = *set;
  auto found = config.Find(sections, key);
  std::string origin =
      found ? fmt::format(" ({} {})", found->origin.provider, found->origin.key) : std::string();
  std::string value(Trim(original));
  // DuckDB's spellings of "its default" ("none", "null", any negative number) all become "none",
  // the one this destination compares and applies.
  std::string lower = ToLower(value);
  if (lower == "none" || lower == "null" || lower.rfind('-', 0) == 0) return std::string("none");
  if (value.empty() || !db::IsValidSetting("memory_limit", value)) {
    throw Error(ErrorKind::kConfig,
                fmt::format("config key destination.duckdb.{} = \"{}\"{}: not a memory size "
                            "DuckDB accepts; expected a number with a unit, e.g. \"512MB\", "
                            "\"2GB\" or \"1GiB\" (or \"none\" for DuckDB's default, 80% of RAM)",
                            key, original, origin));
  }
  return value;
}

/// DuckDB's size text in bytes for comparisons ("none" = no limit).
std::optional<double> SizeBytes(const std::string& value) {
  if (value == "none" || value.empty()) return std::nullopt;
  size_t pos = 0;
  double number = 0;
  try {
    number = std::stod(value, &pos);
  } catch (const std::exception&) {
    return std::nullopt;
  }
  std::string unit = ToUpper(Trim(std::string_view(value).substr(pos)));
  if (unit.size() > 1 && unit.back() == 'S') unit.pop_back();  // "megabytes"
  static const std::vector<std::pair<std::string, double>> kUnits = {{"B", 1},
                                                                     {"BYTE", 1},
                                                                     {"KB", 1e3},
                                                                     {"KILOBYTE", 1e3},
                                                                     {"MB", 1e6},
                                                                     {"MEGABYTE", 1e6},
                                                                     {"GB", 1e9},
                                                                     {"GIGABYTE", 1e9},
                                                                     {"TB", 1e12},
                                                                     {"TERABYTE", 1e12},
                                                                     {"KIB", 1024.},
                                                                     {"MIB", 1048576.},
                                                                     {"GIB", 1073741824.},
                                                                     {"TIB", 1099511627776.},
                                                                     {"K", 1e3},
                                                                     {"M", 1e6},
                                                                     {"G", 1e9},
                                                                     {"T", 1e12}};
  for (const auto& [name, factor] : kUnits) {
    if (unit == name) return number * factor;
  }
  return std::nullopt;
}

}  // namespace

db::DuckOptions DuckOptionsFromConfig(const config::Config& config) {
  const std::vector<std::string> sections = {"destination", "duckdb"};
  db::DuckOptions options;
  options.threads =
      static_cast<int>(config.GetIntInRange(sections, "threads", 1, 1024).value_or(0));
  options.memory_limit =
      MemorySize(config, "memory_limit").value_or(DefaultMemoryLimit(options.threads));
  return options;
}

int64_t KeepStateVersionsFromConfig(const config::Config& config) {
  return config.GetInt({"load"}, "keep_state_versions").value_or(kDefaultKeepStateVersions);
}

DuckDbSettings DuckDbSettingsFromConfig(const config::Config& config) {
  DuckDbSettings settings;
  settings.replace_strategy = ReplaceStrategyFromConfig(config);
  settings.options = DuckOptionsFromConfig(config);
  settings.keep_state_versions = KeepStateVersionsFromConfig(config);
  const std::vector<std::string> sections = {"destination", "duckdb"};
  settings.preserve_insertion_order =
      config.GetBool(sections, "preserve_insertion_order").value_or(false);
  // Set by the user, memory_limit is the most DuckDB gets; by default a statement that runs out
  // of memory is retried with more, up to DuckDB's own default.
  if (config.Find(sections, "memory_limit")) {
    settings.max_memory_limit = settings.options.memory_limit;
  }
  if (auto insert = MemorySize(config, "insert_memory_limit")) {
    settings.insert_memory_limit = *insert;
  }
  return settings;
}

DuckDbClient::DuckDbClient(std::string path, std::string dataset_name, std::string replace_strategy)
    : DuckDbClient(std::move(path), std::move(dataset_name),
                   DuckDbSettings{.replace_strategy = std::move(replace_strategy)}) {}

DuckDbClient::DuckDbClient(std::string path, std::string dataset_name, DuckDbSettings settings)
    : path_(std::move(path)),
      dataset_(std::move(dataset_name)),
      replace_strategy_(std::move(settings.replace_strategy)),
      keep_state_versions_(settings.keep_state_versions),
      merge_limit_(MemoryLimit::Of(settings.options.memory_limit)),
      // An order-preserving insert needs memory per thread: it gets the whole limit.
      fixed_insert_limit_(!settings.insert_memory_limit.empty() ? settings.insert_memory_limit
                          : settings.preserve_insertion_order   ? settings.options.memory_limit
                                                                : std::string()),
      max_limit_(MemoryLimit::Of(settings.max_memory_limit)),
      opened_without_limit_(settings.options.memory_limit.empty() ||
                            settings.options.memory_limit == "none") {
  if (replace_strategy_ != kTruncateAndInsert && replace_strategy_ != kInsertFromStaging) {
    throw Error(ErrorKind::kConfig,
                fmt::format("unknown replace strategy \"{}\": allowed values are {}, {}",
                            replace_strategy_, kTruncateAndInsert, kInsertFromStaging));
  }
  caps_.loader_file_formats = {"parquet"};
  caps_.max_identifier_length = 65536;
  std::error_code ec;
  fs::path parent = fs::path(path_).parent_path();
  if (!parent.empty() && !fs::exists(parent, ec)) {
    throw Error(ErrorKind::kDestination,
                fmt::format("cannot open DuckDB database {}: folder {} does not exist", path_,
                            parent.string()));
  }
  // DuckDB spills (when a statement needs more than memory_limit) into its default
  // temp_directory, `<database>.tmp` next to the database file (created only when needed).
  db_ = db::DuckDatabase::Open(path_, settings.options, ErrorKind::kDestination);
  db::DuckConnection con(db_);
  if (!settings.preserve_insertion_order) {
    con.Execute("SET preserve_insertion_order = false", "configuring DuckDB");
  }
  // The threads DuckDB runs with: the configured ones, else its default (the cores it may use).
  threads_ = std::max(
      1, std::stoi(con.QueryScalar("SELECT current_setting('threads')::INTEGER").value_or("1")));
  applied_threads_ = threads_;
  // DuckDB runs in this process: more jobs at once than its threads add memory (each holds its
  // rows until the commit), not speed.
  caps_.max_parallel_load_jobs = threads_;
}

DuckDbClient::MemoryLimit DuckDbClient::MemoryLimit::Of(const std::string& text) {
  if (text.empty() || text == "none") {
    // DuckDB's default: 80 % of the RAM.
    double ram = static_cast<double>(::sysconf(_SC_PHYS_PAGES)) *
                 static_cast<double>(::sysconf(_SC_PAGESIZE));
    return {0.8 * ram, "none"};
  }
  return {SizeBytes(text).value_or(0), text};
}

void DuckDbClient::ApplySettings(const MemoryLimit& limit, int threads) {
  if (applied_limit_ == limit.text && applied_threads_ == threads) return;
  db::DuckConnection con(db_);
  if (applied_limit_ != limit.text) {
    std::string sql;
    if (limit.text != "none") {
      sql = fmt::format("SET memory_limit = {}", QuoteLiteral(limit.text));
    } else if (opened_without_limit_) {
      sql = "RESET memory_limit";  // DuckDB's default as at open (SET 'none' would mean no limit)
    } else {
      sql = fmt::format("SET memory_limit = '{}MB'", static_cast<int64_t>(limit.bytes / 1e6));
    }
    con.Execute(sql, "setting DuckDB's memory_limit");
    applied_limit_ = limit.text;
  }
  if (applied_threads_ != threads) {
    con.Execute(fmt::format("SET threads = {}", threads), "setting DuckDB's threads");
    applied_threads_ = threads;
  }
}

void DuckDbClient::PlanPackageInserts(const PackagePlan& plan) {
  if (planned_load_id_ == plan.load_id) return;
  planned_load_id_ = plan.load_id;
  InsertPlan inserts = PlanInserts(threads_, plan.concurrent_jobs, plan.job_rows);
  insert_threads_ = inserts.threads;
  MemoryLimit planned =
      MemoryLimit::Of(fixed_insert_limit_.empty() ? inserts.memory_limit : fixed_insert_limit_);
  // Never above a smaller memory_limit; a limit a job had to raise (above its package's plan)
  // stays raised.
  if (fixed_insert_limit_.empty() && merge_limit_.bytes < planned.bytes) planned = merge_limit_;
  bool raised = insert_limit_.bytes > planned_insert_bytes_;
  planned_insert_bytes_ = planned.bytes;
  if (!raised || insert_limit_.bytes < planned.bytes) insert_limit_ = planned;
}

void DuckDbClient::WithMoreMemoryIfNeeded(MemoryLimit& phase, int threads, const std::string& what,
                                          const std::function<void(db::DuckConnection&)>& attempt) {
  for (;;) {
    double tried = 0;
    {
      std::lock_guard<std::mutex> lock(memory_mutex_);
      tried = phase.bytes;
      // A package resumed after a crash skips InitPackage: its jobs get the phase's settings here.
      ApplySettings(phase, threads);
    }
    try {
      // A connection per attempt: a failed rollback leaves its connection in the aborted
      // transaction, and a retry on it would fail with "Current transaction is aborted".
      db::DuckConnection con(db_);
      attempt(con);
      return;
    } catch (const Error& e) {
      if (std::string_view(e.what()).find("Out of Memory Error") == std::string_view::npos) throw;
      std::lock_guard<std::mutex> lock(memory_mutex_);
      if (phase.bytes > tried) continue;  // another job raised it meanwhile
      if (phase.bytes <= 0 || phase.bytes >= max_limit_.bytes) {
        throw Error(ErrorKind::kDestination,
                    fmt::format("{}: DuckDB needs more memory than memory_limit = {} (the most "
                                "cdlt gives it: config key destination.duckdb.memory_limit, else "
                                "80% of RAM); raise it or lower destination.duckdb.threads. {}",
                                what, phase.text, e.what()),
                    Retry::kTerminal);
      }
      // DuckDB holds a table's unwritten row group (122880 rows) per thread in memory, so wide
      // rows need more than the small insert limit: double it and retry (the transaction was
      // rolled back). It stays raised for this client.
      double bytes = std::min(phase.bytes * 2, max_limit_.bytes);
      phase = bytes >= max_limit_.bytes
                  ? max_limit_
                  : MemoryLimit{bytes,
                                fmt::format("{}MB", static_cast<int64_t>(std::ceil(bytes / 1e6)))};
      log::Info("{}: DuckDB ran out of memory; retrying with memory_limit = {}", what, phase.text);
      ApplySettings(phase, threads);
    }
  }
}

std::string DuckDbClient::Qualified(const std::string& table) const {
  return QuoteIdent(dataset_) + "." + QuoteIdent(table);
}
std::string DuckDbClient::StagingSchema(const PackagePlan& plan) const {
  std::string digits;
  for (char c : plan.load_id) {
    if (c >= '0' && c <= '9') digits += c;
  }
  return dataset_ + "_staging_" + digits;
}

std::string DuckDbClient::StagingQualified(const PackagePlan& plan,
                                           const std::string& table) const {
  return QuoteIdent(StagingSchema(plan)) + "." + QuoteIdent(table);
}

std::vector<std::string> DuckDbClient::StagedRoots(const PackagePlan& plan) const {
  std::vector<std::string> roots = plan.merge_tables;
  if (replace_strategy_ == kInsertFromStaging) {
    roots.insert(roots.end(), plan.replace_tables.begin(), plan.replace_tables.end());
  }
  return roots;
}

bool DuckDbClient::TableExists(db::DuckConnection& con, const std::string& schema_name,
                               const std::string& table) {
  auto n = con.QueryScalar(fmt::format(
      "SELECT count(*) FROM information_schema.tables WHERE table_schema = {} AND table_name = {}",
      QuoteLiteral(schema_name), QuoteLiteral(table)));
  return n && *n != "0";
}

void DuckDbClient::MigrateTable(db::DuckConnection& con, const std::string& schema_name,
                                const schema::Table& table, bool staging) {
  std::string qualified = QuoteIdent(schema_name) + "." + QuoteIdent(table.name);
  auto existing = con.QueryText(
      fmt::format("SELECT column_name, data_type FROM information_schema.columns WHERE "
                  "table_schema = {} AND table_name = {}",
                  QuoteLiteral(schema_name), QuoteLiteral(table.name)));
  std::string what = fmt::format("table {}", qualified);
  if (existing.rows.empty()) {
    std::string cols;
    for (const auto& c : table.columns) {
      if (!c.complete()) continue;
      if (!cols.empty()) cols += ", ";
      cols += QuoteIdent(c.name) + " " + SqlType(c) + (c.nullable || staging ? "" : " NOT NULL");
    }
    if (cols.empty()) return;
    con.Execute(fmt::format("CREATE TABLE IF NOT EXISTS {} ({})", qualified, cols), what);
    return;
  }
  std::map<std::string, std::string> have;  // column → DuckDB type
  for (const auto& r : existing.rows) have[r[0].value_or("")] = r[1].value_or("");
  for (const auto& c : table.columns) {
    if (!c.complete()) continue;
    if (auto it = have.find(c.name); it != have.end()) {
      // schema.widen_in_place: a bigint column that became double or decimal is altered in place.
      bool widened = it->second == "BIGINT" && (*c.data_type == schema::DataType::kDouble ||
                                                *c.data_type == schema::DataType::kDecimal ||
                                                *c.data_type == schema::DataType::kWei);
      if (widened) {
        con.Execute(fmt::format("ALTER TABLE {} ALTER COLUMN {} SET DATA TYPE {}", qualified,
                                QuoteIdent(c.name), SqlType(c)),
                    what);
      }
      continue;
    }
    // Added columns are nullable: rows already in the table have no value for them.
    con.Execute(
        fmt::format("ALTER TABLE {} ADD COLUMN {} {}", qualified, QuoteIdent(c.name), SqlType(c)),
        what);
  }
}

void DuckDbClient::InitPackage(const schema::Schema& schema, const PackagePlan& plan) {
  // Refuse a merge that cannot work before any row is loaded.
  for (const auto& root : plan.merge_tables) {
    for (const auto& warning : CheckMergeTable(schema, root)) log::Warn("{}", warning);
  }
  {
    std::lock_guard<std::mutex> lock(memory_mutex_);
    PlanPackageInserts(plan);
    ApplySettings(insert_limit_, insert_threads_);
  }
  db::DuckConnection con(db_);
  std::string what = fmt::format("preparing dataset {} in {}", dataset_, path_);
  con.Execute("BEGIN TRANSACTION", what);
  try {
    con.Execute(fmt::format("CREATE SCHEMA IF NOT EXISTS {}", QuoteIdent(dataset_)), what);
    for (const auto& t : schema.tables()) {
      if (t.name == "_dlt_pipeline_state" || t.name.rfind("_dlt", 0) == 0) {
        MigrateTable(con, dataset_, t);
        continue;
      }
      if (std::find(plan.tables.begin(), plan.tables.end(), t.name) != plan.tables.end()) {
        MigrateTable(con, dataset_, t);
      }
    }
    MigrateTable(con, dataset_, schema::DltPipelineStateTable());
    con.Execute(fmt::format("CREATE TABLE IF NOT EXISTS {} (load_id VARCHAR NOT NULL, job_id "
                            "VARCHAR NOT NULL, inserted_at TIMESTAMP WITH TIME ZONE NOT NULL)",
                            Qualified(kJobsTable)),
                what);
    auto known = con.QueryScalar(
        fmt::format("SELECT count(*) FROM {} WHERE version_hash = {} AND schema_name = {}",
                    Qualified("_dlt_version"), QuoteLiteral(schema.version_hash()),
                    QuoteLiteral(schema.name())));
    if (!known || *known == "0") {
      con.Execute(
          fmt::format("INSERT INTO {} (version, engine_version, inserted_at, schema_name, "
                      "version_hash, schema) VALUES ({}, 11, now(), {}, {}, {})",
                      Qualified("_dlt_version"), schema.version(), QuoteLiteral(schema.name()),
                      QuoteLiteral(schema.version_hash()), QuoteLiteral(schema.ToJson().dump())),
          what);
    }
    // A root and its nested tables: replace clears all of them, staging holds all of them.
    auto chain = [&](const std::string& root) {
      std::vector<const schema::Table*> tables;
      if (const schema::Table* t = schema.FindTable(root)) tables.push_back(t);
      for (const auto* nested : schema.NestedTables(root)) tables.push_back(nested);
      return tables;
    };
    std::vector<std::string> staged = StagedRoots(plan);
    if (!staged.empty()) {
      std::string staging = StagingSchema(plan);
      con.Execute(fmt::format("CREATE SCHEMA IF NOT EXISTS {}", QuoteIdent(staging)), what);
      for (const auto& root : staged) {
        for (const schema::Table* t : chain(root)) {
          if (!t->HasCompleteColumns()) continue;
          MigrateTable(con, dataset_, *t);
          // Staging starts empty for each package; a resumed package skips InitPackage.
          con.Execute(fmt::format("DROP TABLE IF EXISTS {}", StagingQualified(plan, t->name)),
                      what);
          MigrateTable(con, staging, *t, /*staging=*/true);
        }
      }
    }
    if (replace_strategy_ == kTruncateAndInsert) {
      // dlt's truncate-and-insert: the tables are emptied now and the jobs load into them.
      for (const auto& root : plan.replace_tables) {
        for (const schema::Table* t : chain(root)) {
          if (TableExists(con, dataset_, t->name)) {
            con.Execute(fmt::format("DELETE FROM {}", Qualified(t->name)), what);
          }
        }
      }
    }
    con.Execute("COMMIT", what);
  } catch (...) {
    try {
      con.Execute("ROLLBACK");
    } catch (...) {
    }
    throw;
  }
}

bool DuckDbClient::IsJobCommitted(const std::string& load_id, const std::string& job_id) {
  db::DuckConnection con(db_);
  auto n = con.QueryScalar(fmt::format("SELECT count(*) FROM {} WHERE load_id = {} AND job_id = {}",
                                       Qualified(kJobsTable), QuoteLiteral(load_id),
                                       QuoteLiteral(job_id)));
  return n && *n != "0";
}

void DuckDbClient::LoadJob(const schema::Schema& schema, const PackagePlan& plan,
                           const std::string& table, const std::string& job_id,
                           const fs::path& file) {
  (void)schema;
  const schema::Table* t = schema.FindTable(table);
  std::string root = t != nullptr ? schema.RootOf(table).name : table;
  std::vector<std::string> roots = StagedRoots(plan);
  bool staged = std::find(roots.begin(), roots.end(), root) != roots.end();
  std::string target = staged ? StagingQualified(plan, table) : Qualified(table);
  std::string sql = fmt::format(
      "INSERT INTO {} BY NAME SELECT * FROM read_parquet({}); INSERT INTO {} VALUES ({}, {}, "
      "now());",
      target, QuoteLiteral(file.string()), Qualified(kJobsTable), QuoteLiteral(plan.load_id),
      QuoteLiteral(job_id));
  std::string what = fmt::format("loading {} into {}", file.filename().string(), target);
  int threads = 1;
  {
    std::lock_guard<std::mutex> lock(memory_mutex_);
    PlanPackageInserts(plan);  // a resumed package skipped InitPackage
    threads = insert_threads_;
  }
  WithMoreMemoryIfNeeded(insert_limit_, threads, what,
                         [&](db::DuckConnection& con) { InTransaction(con, sql, what); });
}

bool DuckDbClient::IsPackageCommitted(const std::string& load_id) {
  db::DuckConnection con(db_);
  if (!TableExists(con, dataset_, "_dlt_loads")) return false;
  auto n = con.QueryScalar(fmt::format("SELECT count(*) FROM {} WHERE load_id = {}",
                                       Qualified("_dlt_loads"), QuoteLiteral(load_id)));
  return n && *n != "0";
}

std::optional<StoredState> DuckDbClient::RestoreState(const std::string& pipeline_name) {
  db::DuckConnection con(db_);
  if (!TableExists(con, dataset_, "_dlt_pipeline_state") ||
      !TableExists(con, dataset_, "_dlt_loads")) {
    return std::nullopt;
  }
  db::TextRows rows = con.QueryText(
      fmt::format("SELECT s.version, s.version_hash, s.state FROM {} s JOIN {} l ON l.load_id = "
                  "s._dlt_load_id WHERE s.pipeline_name = {} AND l.status = 0 ORDER BY "
                  "s._dlt_load_id DESC, s.version DESC LIMIT 1",
                  Qualified("_dlt_pipeline_state"), Qualified("_dlt_loads"),
                  QuoteLiteral(pipeline_name)),
      "reading the pipeline state");
  if (rows.rows.empty()) return std::nullopt;
  StoredState out;
  out.version = std::stoll(rows.rows[0][0].value_or("0"));
  out.version_hash = rows.rows[0][1].value_or("");
  out.state = rows.rows[0][2].value_or("");
  if (TableExists(con, dataset_, "_dlt_version")) {
    db::TextRows schemas = con.QueryText(
        fmt::format("SELECT schema_name, schema FROM {} QUALIFY row_number() OVER (PARTITION BY "
                    "schema_name ORDER BY inserted_at DESC, version DESC) = 1",
                    Qualified("_dlt_version")),
        "reading the stored schemas");
    for (const auto& row : schemas.rows) {
      if (row[0] && row[1]) out.schemas[*row[0]] = *row[1];
    }
  }
  return out;
}

namespace {

/// Whether root table `root`'s staged rows got their `_dlt_id`s from the relational normalizer:
/// as the package records it, else (a package normalized by an older cdlt) as the schema's
/// x-normalizer.seen-data suggests, which only the relational normalizer used to set.
bool IdsFromNormalizer(const schema::Schema& schema, const PackagePlan& plan,
                       const std::string& root) {
  if (plan.normalizer_id_tables) return plan.normalizer_id_tables->count(root) > 0;
  const schema::Table* table = schema.FindTable(root);
  if (table == nullptr) return false;
  auto it = table->extra.find("x-normalizer");
  return it != table->extra.end() && it->is_object() && it->contains("seen-data") &&
         (*it)["seen-data"] == true;
}

}  // namespace

void DuckDbClient::CompletePackage(const schema::Schema& schema, const PackagePlan& plan) {
  {
    // The merge and replace SQL get the whole limit, and at least what the inserts needed
    // (WithMoreMemoryIfNeeded applies it).
    std::lock_guard<std::mutex> lock(memory_mutex_);
    if (insert_limit_.bytes > merge_limit_.bytes) merge_limit_ = insert_limit_;
  }
  db::DuckConnection con(db_);
  std::string sql;
  std::string staging = StagingSchema(plan);
  if (replace_strategy_ == kInsertFromStaging) {
    for (const auto& root : plan.replace_tables) {
      std::vector<std::string> chain = {root};
      for (const auto* nested : schema.NestedTables(root)) chain.push_back(nested->name);
      for (const auto& name : chain) {
        if (!TableExists(con, staging, name) || !TableExists(con, dataset_, name)) continue;
        sql += fmt::format("DELETE FROM {}; INSERT INTO {} BY NAME SELECT * FROM {};",
                           Qualified(name), Qualified(name), StagingQualified(plan, name));
      }
    }
  }
  // The merge runs here, in the transaction that records the load: a crash leaves the old table
  // or the merged one, never half a merge.
  std::string boundary =
      plan.created_at ? fmt::format("to_timestamp({:.6f})", *plan.created_at) : "now()";
  for (const auto& root : plan.merge_tables) {
    if (!TableExists(con, staging, root) || !TableExists(con, dataset_, root)) continue;
    sql += MergeSql(schema, root, Qualified(root), StagingQualified(plan, root), boundary,
                    IdsFromNormalizer(schema, plan, root));
  }
  if (!StagedRoots(plan).empty()) {
    sql += fmt::format("DROP SCHEMA IF EXISTS {} CASCADE;", QuoteIdent(staging));
  }
  if (plan.pipeline_state) {
    const auto& s = *plan.pipeline_state;
    sql += fmt::format(
        "INSERT INTO {} (version, engine_version, pipeline_name, state, created_at, version_hash, "
        "_dlt_load_id, _dlt_id) VALUES ({}, {}, {}, {}, now(), {}, {}, {});",
        Qualified("_dlt_pipeline_state"), s.value("version", 1), s.value("engine_version", 4),
        QuoteLiteral(s.value("pipeline_name", "")), QuoteLiteral(s.value("state", "")),
        QuoteLiteral(s.value("version_hash", "")), QuoteLiteral(plan.load_id),
        QuoteLiteral(s.value("_dlt_id", "")));
    if (keep_state_versions_ > 0) {
      // Keep the newest versions (by version, then created_at) and always the row just written:
      // it is the one RestoreState returns (newest load), even when its version is lower.
      std::string name = QuoteLiteral(s.value("pipeline_name", ""));
      sql += fmt::format(
          "DELETE FROM {0} WHERE pipeline_name = {1} AND _dlt_load_id <> {2} AND rowid IN "
          "(SELECT rowid FROM {0} WHERE pipeline_name = {1} QUALIFY row_number() OVER (ORDER BY "
          "version DESC, created_at DESC, _dlt_load_id DESC) > {3});",
          Qualified("_dlt_pipeline_state"), name, QuoteLiteral(plan.load_id), keep_state_versions_);
    }
  }
  sql += fmt::format(
      "INSERT INTO {} (load_id, schema_name, status, inserted_at, schema_version_hash) VALUES "
      "({}, {}, 0, now(), {}); DELETE FROM {} WHERE load_id = {};",
      Qualified("_dlt_loads"), QuoteLiteral(plan.load_id), QuoteLiteral(schema.name()),
      QuoteLiteral(schema.version_hash()), Qualified(kJobsTable), QuoteLiteral(plan.load_id));
  std::string what = fmt::format("completing load package {}", plan.load_id);
  WithMoreMemoryIfNeeded(merge_limit_, threads_, what,
                         [&](db::DuckConnection& attempt) { InTransaction(attempt, sql, what); });
}

}  // namespace cdlt::dest::duckdb
