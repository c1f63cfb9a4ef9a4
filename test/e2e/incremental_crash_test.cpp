// Crash sweep over an incremental merge pipeline (PostgreSQL → DuckDB): round after round the
// source changes (updates, inserts, soft deletes loaded as hard deletes), `cdlt run` is killed
// with SIGKILL at a fault point (or after a random delay) chosen from a seeded pseudo-random
// sequence, and a clean rerun must leave the destination equal to the source, with every key
// once, the incremental cursors (local state.json and _dlt_pipeline_state) at the maximum cursor
// value of the source, and every package once in _dlt_loads.
//
// Default: at least 50 kills, seed fixed. CDLT_CRASH_STRESS=N: at least N kills, seed from the
// clock unless CDLT_CRASH_SEED is set (scripts/stress.sh). A failure names the seed and round.

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "helpers/pg_test_server.hpp"
#include "helpers/test_util.hpp"
#include "io/file.hpp"
#include "package/load_package.hpp"
#include "schema/digest.hpp"

namespace cdlt::test {
namespace {

constexpr const char* kPipeline = "crashinc";
constexpr uint64_t kDefaultSeed = 20250705;

/// Every fault point on the path of a run, with how many passes a kill may wait for (the number
/// of files or jobs of a round's package is at least this). The cycle visits them in turn.
struct FaultPointSpec {
  const char* name;
  int max_pass;
};
constexpr FaultPointSpec kFaultPoints[] = {
    {"extract.after_file", 3},
    {"extract.before_state_save", 1},
    {"normalize.after_file", 3},
    {"normalize.before_commit", 1},
    {"load.after_init", 1},
    {"load.after_job_commit", 4},
    {"load.after_job", 4},
    {"load.before_complete", 1},
    {"load.after_complete", 1},
    // Not a fault point: the test kills the process after this many milliseconds at most, so
    // kills also land inside DuckDB commits, Parquet writes and renames.
    {"timer", 1200},
};
constexpr size_t kFaultPointCount = std::size(kFaultPoints);

/// splitmix64: small, deterministic across platforms.
class Rng {
 public:
  explicit Rng(uint64_t seed) : s_(seed) {}
  uint64_t Next() {
    uint64_t z = (s_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  /// Uniform in [lo, hi].
  int64_t Between(int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(Next() % static_cast<uint64_t>(hi - lo + 1));
  }
  bool OneIn(int n) { return Next() % static_cast<uint64_t>(n) == 0; }

 private:
  uint64_t s_;
};

std::optional<uint64_t> EnvNumber(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return std::nullopt;
  return std::strtoull(v, nullptr, 10);
}

/// base64(zlib(json)) as stored in _dlt_pipeline_state.state.
nlohmann::json DecodeStoredState(const std::string& text) {
  std::optional<std::string> bytes = schema::Base64Decode(text);
  if (!bytes) return nullptr;
  std::string out(1 << 16, '\0');
  while (true) {
    uLongf size = out.size();
    int rc = uncompress(reinterpret_cast<Bytef*>(out.data()), &size,
                        reinterpret_cast<const Bytef*>(bytes->data()), bytes->size());
    if (rc == Z_BUF_ERROR) {
      out.resize(out.size() * 4);
      continue;
    }
    if (rc != Z_OK) return nullptr;
    out.resize(size);
    return nlohmann::json::parse(out, nullptr, /*allow_exceptions=*/false);
  }
}

std::string Ts(int64_t tick) {
  return fmt::format("(TIMESTAMPTZ '2024-01-01 00:00:00+00' + {} * INTERVAL '1 second')", tick);
}

std::string IdList(Rng& rng, int count, int64_t max_id) {
  std::string out;
  for (int i = 0; i < count; ++i) {
    out += (i ? "," : "") + std::to_string(rng.Between(1, max_id));
  }
  return out;
}

/// One table of the sweep: how its rows read as text on both sides, and its cursor.
struct TableSpec {
  const char* name;
  const char* cursor;
  const char* pg_rows;    ///< the rows the destination must hold, as text, ordered by id
  const char* duck_rows;  ///< the same from DuckDB
};

const TableSpec kTables[] = {
    {"orders", "updated_at",
     "SELECT id::text || '|' || customer_id::text || '|' || amount::text || '|' || "
     "coalesce(status, 'NULL') || '|' || coalesce(note, 'NULL') || '|' || "
     "extract(epoch FROM updated_at)::bigint::text FROM orders WHERE NOT deleted ORDER BY id",
     "SELECT id::VARCHAR || '|' || customer_id::VARCHAR || '|' || amount::VARCHAR || '|' || "
     "coalesce(status, 'NULL') || '|' || coalesce(note, 'NULL') || '|' || "
     "epoch(updated_at)::BIGINT::VARCHAR FROM src.orders ORDER BY id"},
    {"customers", "updated_at",
     "SELECT id::text || '|' || name || '|' || coalesce(tier, 'NULL') || '|' || "
     "extract(epoch FROM updated_at)::bigint::text FROM customers ORDER BY id",
     "SELECT id::VARCHAR || '|' || name || '|' || coalesce(tier, 'NULL') || '|' || "
     "epoch(updated_at)::BIGINT::VARCHAR FROM src.customers ORDER BY id"},
    {"events", "created_at",
     "SELECT id::text || '|' || order_id::text || '|' || kind || '|' || "
     "extract(epoch FROM created_at)::bigint::text FROM events ORDER BY id",
     "SELECT id::VARCHAR || '|' || order_id::VARCHAR || '|' || kind || '|' || "
     "epoch(created_at)::BIGINT::VARCHAR FROM src.events ORDER BY id"},
};

/// The source database, the project folder and the source's mutation history.
class CrashSweep {
 public:
  explicit CrashSweep(uint64_t seed) : rng_(seed) {
    WriteSqlDatabaseProject(dir_.path(), kPipeline, pg_.url(), R"(
[extract]
workers = 2
[load]
workers = 2
[data_writer]
file_max_items = 20
[normalize.parquet_normalizer]
add_dlt_load_id = true

[sources.sql_database]
table_names = ["orders", "customers", "events"]
chunk_size = 20

[sources.sql_database.orders]
write_disposition = {disposition = "merge", strategy = "delete-insert"}
columns = {deleted = {hard_delete = true}}
incremental = { cursor_path = "updated_at", row_order = "asc" }

[sources.sql_database.customers]
write_disposition = {disposition = "merge", strategy = "upsert"}
incremental = { cursor_path = "updated_at" }

[sources.sql_database.events]
write_disposition = "append"
incremental = { cursor_path = "created_at" }
)");
    // Many rows share a cursor value, so every run also re-reads and drops boundary rows.
    pg_.Exec(R"SQL(
CREATE TABLE customers (id bigint PRIMARY KEY, name text NOT NULL, tier text,
                        updated_at timestamptz NOT NULL);
CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint NOT NULL,
                     amount numeric(10,2) NOT NULL, status text, note text,
                     deleted boolean NOT NULL DEFAULT false, updated_at timestamptz NOT NULL);
CREATE TABLE events (id bigint PRIMARY KEY, order_id bigint NOT NULL, kind text NOT NULL,
                     created_at timestamptz NOT NULL);
INSERT INTO customers SELECT i, 'customer ' || i, CASE WHEN i % 4 = 0 THEN NULL ELSE 'basic' END,
       TIMESTAMPTZ '2024-01-01 00:00:00+00' + (i % 10) * INTERVAL '1 second'
FROM generate_series(1, 60) i;
INSERT INTO orders SELECT i, i % 60 + 1, (i * 37 % 10000) / 4.0,
       CASE WHEN i % 6 = 0 THEN NULL ELSE 'open' END, 'note ' || i, i % 23 = 0,
       TIMESTAMPTZ '2024-01-01 00:00:00+00' + (i % 50) * INTERVAL '1 second'
FROM generate_series(1, 300) i;
INSERT INTO events SELECT i, i % 300 + 1, 'created',
       TIMESTAMPTZ '2024-01-01 00:00:00+00' + (i % 40) * INTERVAL '1 second'
FROM generate_series(1, 120) i;
)SQL");
  }

  /// One round of source changes, as one transaction.
  void Mutate(int round) {
    std::string sql = "BEGIN;";
    auto tick = [&] { return Ts(tick_ += rng_.Between(1, 3)); };
    sql += fmt::format(
        "UPDATE orders SET amount = amount + 1.25, status = 'r{0}', note = CASE WHEN id % 3 = 0 "
        "THEN NULL ELSE 'n{0}' END, updated_at = {1} WHERE NOT deleted AND id IN ({2});",
        round, tick(), IdList(rng_, static_cast<int>(rng_.Between(10, 60)), next_order_ - 1));
    sql += fmt::format(
        "UPDATE orders SET deleted = true, updated_at = {} WHERE NOT deleted AND id "
        "IN ({});",
        tick(), IdList(rng_, static_cast<int>(rng_.Between(2, 12)), next_order_ - 1));
    if (rng_.OneIn(4)) {
      // A deleted row comes back: the merge inserts it again.
      sql += fmt::format(
          "UPDATE orders SET deleted = false, amount = 0.5, updated_at = {} WHERE id IN (SELECT id "
          "FROM orders WHERE deleted ORDER BY id LIMIT 2);",
          tick());
    }
    int64_t n = rng_.Between(5, 40);
    std::string t = tick();
    sql += fmt::format(
        "INSERT INTO orders SELECT i, i % 60 + 1, (i * 37 % 10000) / 4.0, CASE WHEN i % 5 = 0 "
        "THEN NULL ELSE 'new' END, 'r{0}', i % 11 = 0, {1} + (i % 2) * INTERVAL '1 second' FROM "
        "generate_series({2}, {3}) i;",
        round, t, next_order_, next_order_ + n - 1);
    next_order_ += n;
    tick_ += 1;
    sql += fmt::format(
        "UPDATE customers SET tier = CASE WHEN tier IS NULL THEN 'gold' ELSE NULL END, name = "
        "'customer ' || id || ' r{}', updated_at = {} WHERE id IN ({});",
        round, tick(), IdList(rng_, static_cast<int>(rng_.Between(3, 15)), next_customer_ - 1));
    n = rng_.Between(0, 5);
    if (n > 0) {
      sql += fmt::format(
          "INSERT INTO customers SELECT i, 'customer ' || i, 'new', {} FROM generate_series({}, "
          "{}) i;",
          tick(), next_customer_, next_customer_ + n - 1);
      next_customer_ += n;
    }
    n = rng_.Between(10, 50);
    sql += fmt::format(
        "INSERT INTO events SELECT i, i % {} + 1, 'r{}', {} + (i % 2) * INTERVAL '1 second' FROM "
        "generate_series({}, {}) i;",
        next_order_ - 1, round, tick(), next_event_, next_event_ + n - 1);
    next_event_ += n;
    tick_ += 1;
    sql += "COMMIT;";
    pg_.Exec(sql);
  }

  /// `cdlt run`, with CDLT_FAULT_POINT = `fault`; "timer:MS" kills it after MS milliseconds.
  CommandResult Run(const std::string& fault = "") {
    if (fault.empty()) {
      auto start = std::chrono::steady_clock::now();
      CommandResult r = RunCli({"run"}, dir_.path());
      last_clean_ms_ = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::steady_clock::now() - start)
                           .count();
      return r;
    }
    if (fault.starts_with("timer:")) return RunKilledAfter(std::stoi(fault.substr(6)));
    return RunCli({"run"}, dir_.path(), {{"CDLT_FAULT_POINT", fault}});
  }

  CommandResult RunKilledAfter(int delay_ms) const {
    fs::path out_file = dir_ / ".timed-out";
    fs::path err_file = dir_ / ".timed-err";
    pid_t pid = fork();
    if (pid == 0) {
      if (chdir(dir_.path().c_str()) != 0) _exit(127);
      if (!freopen(out_file.c_str(), "w", stdout) || !freopen(err_file.c_str(), "w", stderr)) {
        _exit(127);
      }
      execl(CDLT_BINARY_PATH, CDLT_BINARY_PATH, "run", static_cast<char*>(nullptr));
      _exit(127);
    }
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(delay_ms);
    int status = 0;
    while (waitpid(pid, &status, WNOHANG) != pid) {
      if (std::chrono::steady_clock::now() >= deadline) {
        ::kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    CommandResult r;
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    r.out = io::ReadFile(out_file);
    r.err = io::ReadFile(err_file);
    return r;
  }

  /// How long the last run without a fault took (0 before the first): "timer" kills land inside it.
  int64_t last_clean_ms() const { return last_clean_ms_; }

  fs::path Db() const { return dir_ / "out.duckdb"; }
  fs::path WorkingDir() const { return dir_ / "pipelines" / kPipeline; }
  std::vector<std::string> Duck(const std::string& sql) const { return QueryDuck(Db(), sql); }
  std::string DuckScalar(const std::string& sql) const { return QueryDuckScalar(Db(), sql); }
  const PgTestDatabase& pg() const { return pg_; }
  Rng& rng() { return rng_; }

  /// Rows that appear twice in the destination (by primary key), per table.
  void ExpectNoDuplicateKeys() const {
    // A run killed early may not have created every table (or the database) yet; opening a
    // missing database here would create it.
    if (!fs::exists(Db())) return;
    std::vector<std::string> existing =
        Duck("SELECT table_name FROM information_schema.tables WHERE table_schema = 'src'");
    auto exists = [&](const std::string& name) {
      return std::find(existing.begin(), existing.end(), name) != existing.end();
    };
    for (const TableSpec& t : kTables) {
      if (!exists(t.name)) continue;
      EXPECT_EQ(DuckScalar(fmt::format("SELECT count(*) - count(DISTINCT id) FROM src.{}", t.name)),
                "0")
          << "duplicate keys in " << t.name;
    }
    if (!exists("_dlt_loads")) return;
    EXPECT_EQ(DuckScalar("SELECT count(*) - count(DISTINCT load_id) FROM src._dlt_loads"), "0")
        << "a package is twice in _dlt_loads";
  }

  /// Everything that must hold after a successful run.
  void ExpectConsistent() const {
    ExpectNoDuplicateKeys();
    for (const TableSpec& t : kTables) {
      std::vector<std::string> want = pg_.Query(t.pg_rows);
      std::vector<std::string> have = Duck(t.duck_rows);
      if (want != have) {
        std::vector<std::string> missing, extra;
        std::set_difference(want.begin(), want.end(), have.begin(), have.end(),
                            std::back_inserter(missing));
        std::set_difference(have.begin(), have.end(), want.begin(), want.end(),
                            std::back_inserter(extra));
        missing.resize(std::min<size_t>(missing.size(), 5));
        extra.resize(std::min<size_t>(extra.size(), 5));
        ADD_FAILURE() << "table " << t.name << ": source " << want.size() << " rows, destination "
                      << have.size() << " rows\n  only in source (first 5): "
                      << fmt::format("{}", fmt::join(missing, "; "))
                      << "\n  only in destination (first 5): "
                      << fmt::format("{}", fmt::join(extra, "; "));
      }
    }
    EXPECT_EQ(DuckScalar("SELECT count(*) FROM src.orders WHERE deleted"), "0");
    // Every data row belongs to a completed package.
    for (const TableSpec& t : kTables) {
      EXPECT_EQ(DuckScalar(fmt::format("SELECT count(*) FROM src.{} WHERE _dlt_load_id NOT IN "
                                       "(SELECT load_id FROM src._dlt_loads WHERE status = 0)",
                                       t.name)),
                "0")
          << t.name << " holds rows of a package that is not in _dlt_loads";
    }
    // Nothing pending, nothing half-done left in the destination.
    package::PackageStorage storage(WorkingDir());
    EXPECT_FALSE(storage.HasPending()) << "pending packages after a successful run";
    EXPECT_EQ(DuckScalar("SELECT count(*) FROM src._cdlt_loaded_jobs"), "0");
    EXPECT_EQ(DuckScalar("SELECT count(*) FROM information_schema.schemata WHERE schema_name LIKE "
                         "'src_staging_%'"),
              "0");
    // The local loaded packages and _dlt_loads name the same packages.
    std::vector<std::string> loaded = storage.ListLoaded();
    std::sort(loaded.begin(), loaded.end());
    EXPECT_EQ(Duck("SELECT load_id FROM src._dlt_loads ORDER BY load_id"), loaded);

    // The cursors: local state and newest destination state both at the source's maximum.
    nlohmann::json local = nlohmann::json::parse(io::ReadFile(WorkingDir() / "state.json"));
    std::vector<std::string> stored = Duck(fmt::format(
        "SELECT s.version || '|' || s.state FROM src._dlt_pipeline_state s JOIN src._dlt_loads l "
        "ON l.load_id = s._dlt_load_id WHERE s.pipeline_name = '{}' AND l.status = 0 ORDER BY "
        "s._dlt_load_id DESC, s.version DESC LIMIT 1",
        kPipeline));
    ASSERT_EQ(stored.size(), 1u) << "no state row in the destination";
    size_t bar = stored[0].find('|');
    nlohmann::json remote = DecodeStoredState(stored[0].substr(bar + 1));
    ASSERT_TRUE(remote.is_object()) << "stored state does not decode";
    EXPECT_EQ(stored[0].substr(0, bar), std::to_string(local.value("_state_version", -1)))
        << "local state version differs from the newest one in the destination";
    for (const TableSpec& t : kTables) {
      std::string want =
          pg_.Query(fmt::format("SELECT to_char(max({0}) AT TIME ZONE 'UTC', "
                                "'YYYY-MM-DD\"T\"HH24:MI:SS') || '+00:00' FROM {1}",
                                t.cursor, t.name))[0];
      nlohmann::json::json_pointer ptr(fmt::format(
          "/sources/sql_database/resources/{}/incremental/{}/last_value", t.name, t.cursor));
      EXPECT_EQ(local.contains(ptr) ? local[ptr].dump() : "<none>", "\"" + want + "\"")
          << "local cursor of " << t.name;
      EXPECT_EQ(remote.contains(ptr) ? remote[ptr].dump() : "<none>", "\"" + want + "\"")
          << "destination cursor of " << t.name;
    }
    // State versions grow with the packages that carry them: one version is never stored twice.
    EXPECT_EQ(Duck("SELECT count(*) FROM (SELECT s.version, lag(s.version) OVER (ORDER BY "
                   "s._dlt_load_id) AS prev FROM src._dlt_pipeline_state s) WHERE version <= prev"),
              std::vector<std::string>{"0"});
  }

 private:
  TempDir dir_;
  PgTestDatabase pg_;
  Rng rng_;
  int64_t last_clean_ms_ = 0;
  int64_t tick_ = 100;
  int64_t next_order_ = 301;
  int64_t next_customer_ = 61;
  int64_t next_event_ = 121;
};

TEST(IncrementalCrash, KilledRunsOfAnIncrementalMergePipelineLoseAndDuplicateNothing) {
  const std::optional<uint64_t> stress = EnvNumber("CDLT_CRASH_STRESS");
  const int target_kills = stress ? static_cast<int>(*stress) : 50;
  const uint64_t seed =
      EnvNumber("CDLT_CRASH_SEED")
          .value_or(stress ? static_cast<uint64_t>(
                                 std::chrono::system_clock::now().time_since_epoch().count())
                           : kDefaultSeed);
  std::cout << "[ crash sweep ] seed " << seed << ", at least " << target_kills << " kills"
            << std::endl;
  CrashSweep sweep(seed);
  Rng& rng = sweep.rng();

  int kills = 0;
  int finished = 0;
  std::map<std::string, int> kills_at;
  auto run_with_fault = [&](const std::string& fault, const std::string& context) {
    CommandResult r = sweep.Run(fault);
    if (r.exit_code == kKilledExitCode) {
      ++kills;
      ++kills_at[fault.substr(0, fault.find(':'))];
      return true;
    }
    EXPECT_EQ(r.exit_code, 0) << context << "\n" << Describe(r);
    ++finished;
    return false;
  };
  auto pick_fault = [&](size_t index) {
    const FaultPointSpec& p = kFaultPoints[index % kFaultPointCount];
    if (std::string_view(p.name) != "timer") {
      return fmt::format("{}:{}", p.name, rng.Between(1, p.max_pass));
    }
    // A kill within the time a run takes on this machine (known after the first rerun), so that
    // a fast machine does not finish every timed run before its kill.
    int64_t max_ms = sweep.last_clean_ms() > 0
                         ? std::clamp<int64_t>(sweep.last_clean_ms() * 9 / 10, 21, p.max_pass)
                         : p.max_pass;
    return fmt::format("timer:{}", rng.Between(20, max_ms));
  };

  const int max_rounds = target_kills * 2 + 20;
  for (int round = 0; round < max_rounds && kills < target_kills; ++round) {
    if (round > 0) sweep.Mutate(round);
    std::string fault = pick_fault(static_cast<size_t>(round));
    std::string context = fmt::format("seed {} round {} fault {}", seed, round, fault);
    SCOPED_TRACE(context + " (rerun with CDLT_CRASH_SEED=" + std::to_string(seed) + ")");
    if (run_with_fault(fault, context)) {
      sweep.ExpectNoDuplicateKeys();
      // Sometimes the source changes before the rerun, and sometimes the run that finishes the
      // pending package is killed too.
      if (rng.OneIn(3)) sweep.Mutate(round * 1000);
      if (rng.OneIn(4)) {
        std::string again = pick_fault(static_cast<size_t>(rng.Between(0, kFaultPointCount - 1)));
        if (run_with_fault(again, context + " then " + again)) sweep.ExpectNoDuplicateKeys();
      }
      CommandResult rerun = sweep.Run();
      ASSERT_EQ(rerun.exit_code, 0) << context << ": rerun\n" << Describe(rerun);
    }
    sweep.ExpectConsistent();
    ASSERT_FALSE(::testing::Test::HasFailure()) << "stopped at " << context;
  }
  std::string summary;
  for (const auto& [point, n] : kills_at) summary += fmt::format(" {}={}", point, n);
  std::cout << "[ crash sweep ] " << kills << " kills," << summary << "; " << finished
            << " fault run(s) finished before their fault point" << std::endl;
  EXPECT_GE(kills, target_kills) << "seed " << seed;
  for (const FaultPointSpec& p : kFaultPoints) {
    EXPECT_GT(kills_at[p.name], 0) << "no kill at " << p.name << " (seed " << seed << ")";
  }
}

}  // namespace
}  // namespace cdlt::test
