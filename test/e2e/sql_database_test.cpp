// End-to-end: the sql_database source against a real PostgreSQL (started by the suite) into a real
// DuckDB file, through the CLI.

#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <thread>

#include "db/pg_conn.hpp"
#include "helpers/pg_test_server.hpp"
#include "helpers/test_util.hpp"
#include "io/file.hpp"

namespace cdlt::test {
namespace {

/// A project folder with .dlt/config.toml + secrets.toml for a sql_database pipeline reading a
/// fresh PostgreSQL database into out.duckdb.
class PgProject {
 public:
  explicit PgProject(const std::string& extra_toml = "") { Configure(extra_toml); }

  void Configure(const std::string& extra_toml, const std::string& url = "") {
    WriteSqlDatabaseProject(dir_.path(), "pg", url.empty() ? pg_.url() : url,
                            "[extract]\nworkers = 2\n\n" + extra_toml);
  }

  CommandResult Run(const std::map<std::string, std::string>& env = {}) const {
    return RunCli({"run"}, dir_.path(), env);
  }
  const PgTestDatabase& pg() const { return pg_; }
  fs::path db() const { return dir_ / "out.duckdb"; }
  const TempDir& dir() const { return dir_; }
  std::vector<std::string> Duck(const std::string& sql) const { return QueryDuck(db(), sql); }
  std::string DuckScalar(const std::string& sql) const { return QueryDuckScalar(db(), sql); }
  /// DuckDB's type name of column `column` of src.`table`.
  std::string DuckType(const std::string& table, const std::string& column) const {
    return DuckScalar(fmt::format(
        "SELECT data_type FROM information_schema.columns WHERE table_schema = 'src' AND "
        "table_name = '{}' AND column_name = '{}'",
        table, column));
  }

 private:
  TempDir dir_;
  PgTestDatabase pg_;
};

// ---------------------------------------------------------------------------------------------
// Type fidelity

TEST(SqlDatabaseE2E, EveryTypeRoundTripsWithTheRightDuckDbTypeAndValue) {
  PgProject p;
  p.pg().Exec(R"SQL(
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN positive AS integer CHECK (VALUE > 0);
CREATE TABLE types (
  id integer PRIMARY KEY, b boolean, i2 smallint, i4 integer, i8 bigint,
  n numeric(10,2), n38 numeric(38,10), nfree numeric, nbig numeric(50,5), r real,
  d double precision, t text, vc varchar(10), c char(3), by bytea, dt date, tm time,
  ttz timetz, ts timestamp, tstz timestamptz, iv interval, u uuid, j json, jb jsonb,
  arr integer[], tarr text[], e mood, dom positive, ip inet, cidrv cidr, mac macaddr,
  m money, bits bit(4), vb varbit, x xml, o oid, pt point);
INSERT INTO types VALUES
 (1, true, -32768, -2147483648, -9223372036854775808, -99999999.99,
  '1234567890123456789012345678.0123456789', 1.5, 12345678901234567890123456789012345678901234.5,
  3.5, 1e308, 'héllo ✓', 'abcdefghij', 'ab', '\x00ff10', '2024-02-29', '23:59:59.999999',
  '12:00:00+02', '2024-01-02 03:04:05.123456', '2024-01-02 03:04:05.123456+05',
  '1 year 2 mons 3 days 04:05:06.5', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{"a": [1, 2]}',
  '{"b": {"c": null}}', '{1,NULL,3}', '{"x","y z"}', 'happy', 5, '192.168.0.1/24', '10.0.0.0/8',
  '08:00:2b:01:02:03', 12.34, B'1010', B'101', '<a>x</a>', 42, '(1,2)'),
 (2, false, 32767, 2147483647, 9223372036854775807, 99999999.99,
  '-1234567890123456789012345678.0123456789', -0.000000001, -1, 'NaN', '-Infinity', '', 'x',
  'abc', '', 'infinity', '00:00:00', '23:30:00-01', '-infinity', 'infinity', '-3 days',
  '00000000-0000-0000-0000-000000000000', '[]', '{}', '{}', '{}', 'sad', 1, '::1', '::/0',
  'ff:ff:ff:ff:ff:ff', -0.01, B'0000', B'', '<b/>', 0, '(0,0)'),
 (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'Infinity', 'NaN', NULL, NULL, NULL, NULL,
  '-infinity', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
 (4, NULL, 0, 0, 0, 0, 0, 'NaN', NULL, 0, 0, NULL, NULL, NULL, NULL, '1970-01-01', NULL, NULL,
  '1970-01-01 00:00:00', '1969-12-31 23:59:59.999999+00', NULL, NULL, 'null', 'null', NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
)SQL");
  CommandResult r = p.Run();
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  // Columns beyond DuckDB's decimal and types without a mapping are named in a warning.
  EXPECT_NE(r.err.find("column nbig of table public.types"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("type point has no native mapping"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("column nfree of table public.types"), std::string::npos) << r.err;

  const std::map<std::string, std::string> expected_types = {{"id", "BIGINT"},
                                                             {"b", "BOOLEAN"},
                                                             {"i2", "BIGINT"},
                                                             {"i4", "BIGINT"},
                                                             {"i8", "BIGINT"},
                                                             {"n", "DECIMAL(10,2)"},
                                                             {"n38", "DECIMAL(38,10)"},
                                                             {"nfree", "DECIMAL(38,9)"},
                                                             {"nbig", "VARCHAR"},
                                                             {"r", "DOUBLE"},
                                                             {"d", "DOUBLE"},
                                                             {"t", "VARCHAR"},
                                                             {"vc", "VARCHAR"},
                                                             {"c", "VARCHAR"},
                                                             {"by", "BLOB"},
                                                             {"dt", "DATE"},
                                                             {"tm", "TIME"},
                                                             {"ttz", "TIME"},
                                                             {"ts", "TIMESTAMP"},
                                                             {"tstz", "TIMESTAMP WITH TIME ZONE"},
                                                             {"iv", "VARCHAR"},
                                                             {"u", "VARCHAR"},
                                                             {"j", "JSON"},
                                                             {"jb", "JSON"},
                                                             {"arr", "JSON"},
                                                             {"tarr", "JSON"},
                                                             {"e", "VARCHAR"},
                                                             {"dom", "BIGINT"},
                                                             {"ip", "VARCHAR"},
                                                             {"cidrv", "VARCHAR"},
                                                             {"mac", "VARCHAR"},
                                                             {"m", "DECIMAL(19,2)"},
                                                             {"bits", "VARCHAR"},
                                                             {"vb", "VARCHAR"},
                                                             {"x", "VARCHAR"},
                                                             {"o", "BIGINT"},
                                                             {"pt", "VARCHAR"}};
  for (const auto& [column, type] : expected_types) {
    EXPECT_EQ(p.DuckType("types", column), type) << column;
  }

  auto row = [&](int id, const std::string& columns) {
    return p.DuckScalar(fmt::format(
        "SELECT concat_ws(' | ', {}) FROM (SELECT * FROM src.types WHERE id = {})",
        [&] {
          std::string out;
          size_t start = 0;
          while (start <= columns.size()) {
            size_t comma = columns.find(',', start);
            std::string c = columns.substr(start, comma - start);
            out += (out.empty() ? "" : ", ") + fmt::format("coalesce(\"{}\"::VARCHAR, 'NULL')", c);
            if (comma == std::string::npos) break;
            start = comma + 1;
          }
          return out;
        }(),
        id));
  };
  const std::string all =
      "b,i2,i4,i8,n,n38,nfree,nbig,r,d,t,vc,c,by,dt,tm,ttz,ts,tstz,iv,u,j,jb,arr,tarr,e,dom,ip,"
      "cidrv,mac,m,bits,vb,x,o,pt";
  EXPECT_EQ(row(1, all),
            "true | -32768 | -2147483648 | -9223372036854775808 | -99999999.99 | "
            "1234567890123456789012345678.0123456789 | 1.500000000 | "
            "12345678901234567890123456789012345678901234.50000 | 3.5 | 1e+308 | héllo ✓ | "
            "abcdefghij | ab  | \\x00\\xFF\\x10 | 2024-02-29 | 23:59:59.999999 | 10:00:00 | "
            "2024-01-02 03:04:05.123456 | 2024-01-01 22:04:05.123456+00 | P1Y2M3DT4H5M6.5S | "
            "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11 | {\"a\": [1, 2]} | {\"b\": {\"c\": null}} | "
            "[1,null,3] | [\"x\",\"y z\"] | happy | 5 | 192.168.0.1/24 | 10.0.0.0/8 | "
            "08:00:2b:01:02:03 | 12.34 | 1010 | 101 | <a>x</a> | 42 | (1,2)");
  EXPECT_EQ(row(2, all),
            "false | 32767 | 2147483647 | 9223372036854775807 | 99999999.99 | "
            "-1234567890123456789012345678.0123456789 | -0.000000001 | -1.00000 | nan | -inf |  | "
            "x | abc |  | infinity | 00:00:00 | 00:30:00 | -infinity | infinity | P-3D | "
            "00000000-0000-0000-0000-000000000000 | [] | {} | [] | [] | sad | 1 | ::1 | ::/0 | "
            "ff:ff:ff:ff:ff:ff | -0.01 | 0000 |  | <b/> | 0 | (0,0)");
  EXPECT_EQ(row(3, "b,i2,t,by,r,d,dt,tstz,j,arr"),
            "NULL | NULL | NULL | NULL | inf | nan | -infinity | NULL | NULL | NULL");
  EXPECT_EQ(row(4, "i2,n,nfree,dt,ts,tstz,j,jb"),
            "0 | 0.00 | NULL | 1970-01-01 | 1970-01-01 00:00:00 | 1969-12-31 23:59:59.999999+00 | "
            "null | null");
  // Empty strings stay empty, NULL stays NULL.
  EXPECT_EQ(p.DuckScalar("SELECT count(*) FROM src.types WHERE t = ''"), "1");
  EXPECT_EQ(p.DuckScalar("SELECT count(*) FROM src.types WHERE t IS NULL"), "2");
  // NaN in a numeric column has no decimal form: NULL with a warning naming the column.
  EXPECT_NE(r.err.find("NaN and Infinity have no decimal form"), std::string::npos) << r.err;
  // The primary key from the catalog became the table's primary key hint (not null).
  CommandResult schema =
      RunCli({"pipeline", "--pipelines-dir", (p.dir() / "pipelines").string(), "pg", "schema"},
             p.dir().path());
  ASSERT_EQ(schema.exit_code, 0) << Describe(schema);
  EXPECT_NE(schema.out.find("primary_key"), std::string::npos) << schema.out;
}

TEST(SqlDatabaseE2E, LargeValuesUnicodeAndPrecisionWithPrecisionReflection) {
  PgProject p(R"([sources.sql_database]
reflection_level = "full_with_precision"
chunk_size = 7
)");
  p.pg().Exec(R"SQL(
CREATE TABLE blobs (id bigint PRIMARY KEY, small smallint, mid integer, big bytea, txt text,
                    code varchar(12));
INSERT INTO blobs SELECT i, i, i * 1000, decode(repeat(md5(i::text), 200000), 'hex'),
       repeat('日本語-', 10000 * i), 'c' || i
FROM generate_series(1, 20) i;
)SQL");
  CommandResult r = p.Run();
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(p.DuckType("blobs", "small"), "SMALLINT");
  EXPECT_EQ(p.DuckType("blobs", "mid"), "INTEGER");
  EXPECT_EQ(p.DuckScalar("SELECT count(*) FROM src.blobs"), "20");
  // Each bytea is 3.2 MB; compare digests with PostgreSQL's.
  std::vector<std::string> pg_rows = p.pg().Query(
      "SELECT id, md5(big), length(big), md5(txt), length(txt) FROM blobs ORDER BY id");
  std::vector<std::string> duck_rows = p.Duck(
      "SELECT id, md5(big), octet_length(big), md5(txt), length(txt) FROM src.blobs ORDER BY id");
  EXPECT_EQ(duck_rows, pg_rows);
  // full_with_precision keeps the varchar length as the column's precision in the schema.
  CommandResult schema =
      RunCli({"pipeline", "--pipelines-dir", (p.dir() / "pipelines").string(), "pg", "schema"},
             p.dir().path());
  EXPECT_NE(schema.out.find("precision: 12"), std::string::npos) << schema.out;
}

TEST(SqlDatabaseE2E, NumericBeyondTheDefaultScaleNeedsAHintAndOverflowNamesTheColumn) {
  PgProject p;
  p.pg().Exec(
      "CREATE TABLE amounts (id int PRIMARY KEY, v numeric);"
      "INSERT INTO amounts VALUES (1, 1.25), (2, 123456789012345678901234567890123.5);");
  CommandResult r = p.Run();
  EXPECT_EQ(r.exit_code, 3) << Describe(r);
  EXPECT_NE(r.err.find("cannot decode column v"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("table public.amounts"), std::string::npos) << r.err;
  if (fs::exists(p.db())) {
    EXPECT_EQ(p.DuckScalar("SELECT count(*) FROM information_schema.tables WHERE table_name = "
                           "'amounts'"),
              "0");
  }
  // A column hint reads it as text instead.
  p.Configure(R"([sources.sql_database.amounts]
columns = {v = {data_type = "text"}}
)");
  r = p.Run();
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(p.Duck("SELECT v FROM src.amounts ORDER BY id"),
            (std::vector<std::string>{"1.25", "123456789012345678901234567890123.5"}));
  EXPECT_EQ(p.DuckType("amounts", "v"), "VARCHAR");
}

// ---------------------------------------------------------------------------------------------
// Tables, options, limits

TEST(SqlDatabaseE2E, ReadsEveryTableOfTheSchemaInParallelWithOptions) {
  PgProject p(R"([sources.sql_database]
schema = "shop"
backend = "connectorx"
chunk_size = 1000

[sources.sql_database.customers]
excluded_columns = ["secret_note"]
write_disposition = "replace"

[sources.sql_database.orders]
included_columns = ["order_id", "customer_id", "total"]
chunk_size = 333
)");
  p.pg().Exec(R"SQL(
CREATE SCHEMA shop;
CREATE TABLE shop.customers (id serial PRIMARY KEY, name text NOT NULL, secret_note text);
CREATE TABLE shop.orders (order_id bigint, customer_id int, total numeric(12,2), note text,
                          PRIMARY KEY (order_id, customer_id));
CREATE VIEW shop.big_orders AS SELECT * FROM shop.orders WHERE total > 100;
CREATE TABLE public.elsewhere (x int);
INSERT INTO shop.customers (name, secret_note) SELECT 'c' || i, 'x' FROM generate_series(1, 2500) i;
INSERT INTO shop.orders SELECT i, 1 + i % 2500, i * 0.5, 'n' FROM generate_series(1, 10000) i;
)SQL");
  CommandResult r = p.Run({{"RUNTIME__LOG_LEVEL", "INFO"}});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_NE(r.err.find("backend \"connectorx\" accepted"), std::string::npos) << r.err;
  EXPECT_EQ(p.Duck("SELECT table_name FROM information_schema.tables WHERE table_schema = 'src' "
                   "AND table_name NOT LIKE '\\_%' ESCAPE '\\' ORDER BY 1"),
            (std::vector<std::string>{"customers", "orders"}));
  EXPECT_EQ(p.DuckScalar("SELECT count(*) || '/' || sum(total) FROM src.orders"),
            "10000/25002500.00");
  EXPECT_EQ(p.DuckScalar("SELECT count(*) FROM src.customers"), "2500");
  EXPECT_EQ(p.DuckScalar("SELECT count(*) FROM information_schema.columns WHERE table_name = "
                         "'customers' AND column_name = 'secret_note'"),
            "0");
  EXPECT_EQ(p.DuckScalar("SELECT count(*) FROM information_schema.columns WHERE table_name = "
                         "'orders' AND column_name = 'note'"),
            "0");
  // NOT NULL and the composite primary key came from the catalog.
  EXPECT_EQ(p.DuckScalar("SELECT is_nullable FROM information_schema.columns WHERE table_name = "
                         "'customers' AND column_name = 'name'"),
            "NO");
  // A second run replaces customers and appends orders.
  r = p.Run();
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(p.DuckScalar("SELECT count(*) FROM src.customers"), "2500");
  EXPECT_EQ(p.DuckScalar("SELECT count(*) FROM src.orders"), "20000");
}

TEST(SqlDatabaseE2E, ViewsOnlyWhenAskedAndAddLimitBecomesSqlLimit) {
  PgProject p(R"([sources.sql_database]
include_views = true
chunk_size = 10

[sources.sql_database.numbers]
add_limit = 3
)");
  p.pg().Exec(
      "CREATE TABLE numbers AS SELECT i FROM generate_series(1, 1000) i;"
      "CREATE VIEW evens AS SELECT i FROM numbers WHERE i % 2 = 0;");
  CommandResult r = p.Run();
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(p.DuckScalar("SELECT count(*) FROM src.numbers"), "30");
  EXPECT_EQ(p.DuckScalar("SELECT count(*) FROM src.evens"), "500");
}

// ---------------------------------------------------------------------------------------------
// Partitioned reads

/// Loads `table` from a project with the given extract settings and returns a digest of its rows.
std::string LoadDigest(const PgTestDatabase& pg, const std::string& table, int workers,
                       const std::string& extra, std::string* files = nullptr) {
  TempDir dir;
  WriteSqlDatabaseProject(dir.path(), "part", pg.url(),
                          fmt::format("[extract]\nworkers = {}\n[sources.sql_database]\n"
                                      "table_names = [\"{}\"]\n{}\n",
                                      workers, table, extra));
  CommandResult r = RunCli({"run"}, dir.path());
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  if (files) {
    size_t at = r.out.find(fmt::format("- {}:", table));
    *files = at == std::string::npos ? "" : r.out.substr(at, r.out.find('\n', at) - at);
  }
  return QueryDuckScalar(
      dir / "out.duckdb",
      fmt::format("SELECT count(*) || ':' || count(DISTINCT id) || ':' || "
                  "md5(string_agg(id || ',' || coalesce(v, 'NULL') || ',' || coalesce(w::VARCHAR, "
                  "'NULL'), ';' ORDER BY id)) FROM src.{}",
                  table));
}

TEST(SqlDatabaseE2E, PartitionedReadEqualsSingleReadByKeyAndByCtid) {
  PgTestDatabase pg;
  pg.Exec(R"SQL(
CREATE TABLE keyed (id bigint PRIMARY KEY, v text, w double precision);
INSERT INTO keyed SELECT i * 7, md5(i::text), CASE WHEN i % 5 = 0 THEN NULL ELSE i / 3.0 END
FROM generate_series(1, 120000) i;
CREATE TABLE heap (id bigint, v text, w double precision);
INSERT INTO heap SELECT i, md5(i::text), i FROM generate_series(1, 120000) i;
DELETE FROM heap WHERE id % 10 = 3;
UPDATE heap SET v = 'updated' WHERE id % 10 = 4;
ANALYZE;
)SQL");
  for (const std::string table : {"keyed", "heap"}) {
    std::string single = LoadDigest(pg, table, 1, "chunk_size = 5000\nparallel_ranges = false");
    std::string files;
    std::string split = LoadDigest(pg, table, 2, "chunk_size = 5000\nmin_split_rows = 0", &files);
    EXPECT_EQ(split, single) << table;
    // Two readers wrote their own files.
    EXPECT_NE(files.find("2 file(s)"), std::string::npos) << table << ": " << files;
    std::string per_chunk =
        LoadDigest(pg, table, 2, "chunk_size = 5000\nmin_split_rows = 0\nsnapshot = \"per_chunk\"");
    EXPECT_EQ(per_chunk, single) << table;
    EXPECT_EQ(single.substr(0, single.find(':')), table == "keyed" ? "120000" : "108000");
  }
}

TEST(SqlDatabaseE2E, PartitionedReadUnderConcurrentWritesIsOneSnapshot) {
  // Transfers keep the sum of `amount` at zero and insert rows in pairs that cancel out, so any
  // single moment has sum 0 and an even count; a read that mixes moments breaks that.
  PgTestDatabase pg;
  pg.Exec(R"SQL(
CREATE TABLE ledger (id bigint PRIMARY KEY, amount bigint NOT NULL, v text);
INSERT INTO ledger SELECT i, 0, repeat('x', 100) FROM generate_series(1, 200000) i;
CREATE TABLE heap_ledger (id bigint, amount bigint NOT NULL, v text);
INSERT INTO heap_ledger SELECT i, 0, repeat('x', 100) FROM generate_series(1, 200000) i;
ANALYZE;
)SQL");
  for (const std::string table : {"ledger", "heap_ledger"}) {
    std::atomic<bool> stop{false};
    std::atomic<int> transactions{0};
    std::thread writer([&] {
      db::PgConnection conn(pg.credentials());
      std::mt19937 rng(42);
      int64_t next_id = 1000000;
      while (!stop) {
        int64_t a = 1 + rng() % 200000, b = 1 + rng() % 200000;
        conn.Execute(fmt::format(
            "BEGIN; UPDATE {0} SET amount = amount - 5 WHERE id = {1}; UPDATE {0} SET amount = "
            "amount + 5 WHERE id = {2}; INSERT INTO {0} VALUES ({3}, 7, 'new'), ({4}, -7, 'new'); "
            "COMMIT;",
            table, a, b, next_id, next_id + 1));
        next_id += 2;
        ++transactions;
      }
    });
    while (transactions < 20) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    TempDir dir;
    WriteSqlDatabaseProject(dir.path(), "snap", pg.url(),
                            fmt::format("[extract]\nworkers = 2\n[sources.sql_database]\n"
                                        "table_names = [\"{}\"]\nchunk_size = 2000\n"
                                        "min_split_rows = 0\n",
                                        table));
    int before = transactions;
    CommandResult r = RunCli({"run"}, dir.path());
    int during = transactions - before;
    stop = true;
    writer.join();
    ASSERT_EQ(r.exit_code, 0) << Describe(r);
    EXPECT_GT(during, 5) << "the writer must run while the table is read";
    std::string got = QueryDuckScalar(
        dir / "out.duckdb",
        fmt::format(
            "SELECT sum(amount) || ':' || (count(*) % 2) || ':' || (count(*) - count(DISTINCT "
            "id)) FROM src.{}",
            table));
    EXPECT_EQ(got, "0:0:0") << table << " (sum:odd count:duplicates)";
  }
}

// ---------------------------------------------------------------------------------------------
// Bad input

TEST(SqlDatabaseE2E, WrongPasswordFailsWithoutPrintingIt) {
  PgProject p;
  const std::string wrong = "not-the-Password-42";
  p.Configure("", fmt::format("postgresql://postgres:{}@127.0.0.1:{}/{}", wrong,
                              PgTestServer::Get().port, p.pg().name()));
  CommandResult r = p.Run();
  EXPECT_EQ(r.exit_code, 3) << Describe(r);
  EXPECT_NE(r.err.find("password authentication failed"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("postgresql://postgres@127.0.0.1"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find(wrong), std::string::npos) << r.err;
  EXPECT_EQ(r.out.find(wrong), std::string::npos) << r.out;
  // Nor does the real password appear anywhere after a good run.
  p.Configure("");
  p.pg().Exec("CREATE TABLE t AS SELECT 1 AS x");
  r = p.Run({{"RUNTIME__LOG_LEVEL", "DEBUG"}});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  const std::string& secret = PgTestServer::Get().password;
  EXPECT_EQ(r.out.find(secret), std::string::npos);
  EXPECT_EQ(r.err.find(secret), std::string::npos);
  for (const auto& entry : fs::recursive_directory_iterator(p.dir() / "pipelines")) {
    if (!entry.is_regular_file()) continue;
    std::string text = io::ReadFile(entry.path());
    EXPECT_EQ(text.find(secret), std::string::npos) << entry.path();
  }
  CommandResult info =
      RunCli({"pipeline", "--pipelines-dir", (p.dir() / "pipelines").string(), "pg", "info"},
             p.dir().path());
  EXPECT_EQ(info.out.find(secret), std::string::npos);
}

TEST(SqlDatabaseE2E, CredentialsAsFieldsSplitBetweenConfigAndSecrets) {
  PgProject p(fmt::format(R"([sources.sql_database.credentials]
drivername = "postgresql"
host = "127.0.0.1"
port = {}
database = "{}"
username = "postgres"
)",
                          PgTestServer::Get().port, "placeholder"));
  p.pg().Exec("CREATE TABLE t AS SELECT generate_series(1, 5) AS x");
  // The database name goes in config.toml, the password in secrets.toml.
  p.Configure(fmt::format(R"([sources.sql_database.credentials]
host = "127.0.0.1"
port = {}
database = "{}"
username = "postgres"
)",
                          PgTestServer::Get().port, p.pg().name()));
  WriteText(p.dir() / ".dlt/secrets.toml",
            fmt::format("[sources.sql_database.credentials]\npassword = \"{}\"\n",
                        PgTestServer::Get().password));
  CommandResult r = p.Run();
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(p.DuckScalar("SELECT sum(x) FROM src.t"), "15");
  // A password in config.toml is refused.
  p.Configure(fmt::format(R"([sources.sql_database.credentials]
host = "127.0.0.1"
port = {}
database = "{}"
username = "postgres"
password = "{}"
)",
                          PgTestServer::Get().port, p.pg().name(), PgTestServer::Get().password));
  WriteText(p.dir() / ".dlt/secrets.toml", "");
  r = p.Run();
  EXPECT_EQ(r.exit_code, 2) << Describe(r);
  EXPECT_NE(r.err.find("password"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find(PgTestServer::Get().password), std::string::npos) << r.err;
}

TEST(SqlDatabaseE2E, UnreachableHostFailsWithinTheConnectTimeout) {
  PgProject p(R"([sources.sql_database]
connect_timeout = 2
)");
  // A port nobody listens on: refused at once; a blackhole address: bounded by connect_timeout.
  p.Configure("[sources.sql_database]\nconnect_timeout = 2\n",
              "postgresql://postgres:pw@127.0.0.1:1/db");
  auto start = std::chrono::steady_clock::now();
  CommandResult r = p.Run();
  EXPECT_EQ(r.exit_code, 3) << Describe(r);
  EXPECT_NE(r.err.find("cannot connect to postgresql://postgres@127.0.0.1:1/db"), std::string::npos)
      << r.err;
  p.Configure("[sources.sql_database]\nconnect_timeout = 2\n",
              "postgresql://postgres:pw@10.255.255.1:5432/db");
  r = p.Run();
  EXPECT_EQ(r.exit_code, 3) << Describe(r);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));
}

TEST(SqlDatabaseE2E, MissingSchemaOrTableIsNamedWithWhatExists) {
  PgProject p("[sources.sql_database]\nschema = \"nope\"\n");
  p.pg().Exec("CREATE TABLE alpha (x int); CREATE TABLE beta (y int); CREATE SCHEMA other;");
  CommandResult r = p.Run();
  EXPECT_EQ(r.exit_code, 3) << Describe(r);
  EXPECT_NE(r.err.find("schema nope not found"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("other"), std::string::npos) << r.err;
  p.Configure("[sources.sql_database]\ntable_names = [\"alpha\", \"gamma\"]\n");
  r = p.Run();
  EXPECT_EQ(r.exit_code, 3) << Describe(r);
  EXPECT_NE(r.err.find("table gamma not found in schema public"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("tables there: alpha, beta"), std::string::npos) << r.err;
  p.Configure("[sources.sql_database]\nreflection_level = \"everything\"\n");
  r = p.Run();
  EXPECT_EQ(r.exit_code, 2) << Describe(r);
  EXPECT_NE(r.err.find("reflection_level"), std::string::npos) << r.err;
}

TEST(SqlDatabaseE2E, PermissionDeniedNamesTheTableAndKeepsEarlierLoads) {
  PgProject p;
  p.pg().Exec(R"SQL(
CREATE TABLE open_t AS SELECT i FROM generate_series(1, 10) i;
CREATE TABLE closed_t AS SELECT i FROM generate_series(1, 10) i;
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'reader') THEN
    CREATE ROLE reader LOGIN PASSWORD 'reader-pw';
  END IF;
END $$;
GRANT SELECT ON open_t TO reader;
)SQL");
  // A first, good run as the owner.
  ASSERT_EQ(p.Run().exit_code, 0);
  ASSERT_EQ(p.DuckScalar("SELECT count(*) FROM src.open_t"), "10");
  p.Configure("", fmt::format("postgresql://reader:reader-pw@127.0.0.1:{}/{}",
                              PgTestServer::Get().port, p.pg().name()));
  CommandResult r = p.Run();
  EXPECT_EQ(r.exit_code, 3) << Describe(r);
  EXPECT_NE(r.err.find("permission denied"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("public.closed_t"), std::string::npos) << r.err;
  // Nothing of the failed run landed, nothing of the first run was lost.
  EXPECT_EQ(p.DuckScalar("SELECT count(*) FROM src.open_t"), "10");
  EXPECT_EQ(p.DuckScalar("SELECT count(*) FROM src._dlt_loads"), "1");
}

TEST(SqlDatabaseE2E, TableDroppedMidRunIsNamed) {
  // One worker reads `a_slow` first (a view that sleeps); the test drops `b_gone` meanwhile.
  PgProject p(R"([sources.sql_database]
table_names = ["a_slow", "b_gone"]
)");
  p.pg().Exec(
      "CREATE TABLE b_gone AS SELECT 1 AS x;"
      "CREATE VIEW a_slow AS SELECT 1 AS x FROM pg_sleep(3);");
  std::thread dropper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(1200));
    p.pg().Exec("DROP TABLE b_gone");
  });
  CommandResult r = p.Run({{"EXTRACT__WORKERS", "1"}});
  dropper.join();
  EXPECT_EQ(r.exit_code, 3) << Describe(r);
  EXPECT_NE(r.err.find("table public.b_gone"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("no longer exists"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace cdlt::test
