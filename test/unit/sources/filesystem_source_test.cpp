#include "sources/filesystem/filesystem_source.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "config/config.hpp"
#include "db/duckdb_conn.hpp"
#include "sources/source_registry.hpp"

namespace cdlt::sources::filesystem {
namespace {

namespace fs = std::filesystem;

/// A fresh folder under the system temp dir, removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    path_ = fs::temp_directory_path() /
            ("cdlt_fs_source_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }
  std::string str() const { return path_.string(); }

  /// Writes `text` to `relative` (folders created) and returns the full path.
  fs::path Write(const fs::path& relative, const std::string& text) const {
    fs::path file = path_ / relative;
    fs::create_directories(file.parent_path());
    std::ofstream(file, std::ios::binary) << text;
    return file;
  }

 private:
  fs::path path_;
};

/// Collects emitted batches; answers false once `stop_after` batches were taken.
class CollectingEmitter : public Emitter {
 public:
  explicit CollectingEmitter(size_t stop_after = 0) : stop_after_(stop_after) {}
  bool Emit(Batch batch) override {
    batches.push_back(std::move(batch));
    return stop_after_ == 0 || batches.size() < stop_after_;
  }
  size_t TotalRows() const {
    size_t rows = 0;
    for (const Batch& b : batches) rows += b.num_rows();
    return rows;
  }
  std::vector<Batch> batches;

 private:
  size_t stop_after_;
};

/// Runs `fn`, expects a cdlt::Error of `kind` and returns its full text.
std::string ErrorText(ErrorKind kind, const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), kind) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "expected a cdlt::Error";
  return {};
}

std::vector<std::string> Relative(const std::vector<fs::path>& files, const fs::path& root) {
  std::vector<std::string> out;
  for (const fs::path& f : files) out.push_back(f.lexically_relative(root).generic_string());
  return out;
}

config::Config LoadConfig(const TempDir& dir, const std::string& config_toml) {
  dir.Write(".dlt/config.toml", config_toml);
  fs::create_directories(dir.path() / "no_global");
  return config::Config::Load(config::ProviderOptions{
      dir.path(), dir.path() / "no_global", {}, std::map<std::string, std::string>{}, {}});
}

/// Writes `rows` numbered rows "id,label" to a CSV file.
fs::path WriteNumberedCsv(const TempDir& dir, const std::string& name, int rows) {
  std::string text = "id,label\n";
  for (int i = 0; i < rows; ++i) text += std::to_string(i) + ",row" + std::to_string(i) + "\n";
  return dir.Write(name, text);
}

TEST(FilesystemSource, ListFilesStarStaysInOneFolderAndSorts) {
  TempDir dir;
  dir.Write("b.csv", "x\n1\n");
  dir.Write("a.csv", "x\n1\n");
  dir.Write("c.parquet", "");
  dir.Write("sub/d.csv", "x\n1\n");
  EXPECT_EQ(Relative(ListFiles(dir.str(), "*"), dir.path()),
            (std::vector<std::string>{"a.csv", "b.csv", "c.parquet"}));
  EXPECT_EQ(Relative(ListFiles(dir.str(), "*.csv"), dir.path()),
            (std::vector<std::string>{"a.csv", "b.csv"}));
  EXPECT_EQ(Relative(ListFiles(dir.str(), "?.c[s-t]v"), dir.path()),
            (std::vector<std::string>{"a.csv", "b.csv"}));
  EXPECT_EQ(Relative(ListFiles(dir.str(), "[!a]*"), dir.path()),
            (std::vector<std::string>{"b.csv", "c.parquet"}));
}

TEST(FilesystemSource, ListFilesDoubleStarRecurses) {
  TempDir dir;
  dir.Write("top.csv", "x\n");
  dir.Write("2024/01/jan.csv", "x\n");
  dir.Write("2024/02/feb.csv", "x\n");
  dir.Write("2024/02/notes.txt", "x\n");
  dir.Write("2023/dec.csv", "x\n");
  EXPECT_EQ(
      Relative(ListFiles(dir.str(), "**/*.csv"), dir.path()),
      (std::vector<std::string>{"2023/dec.csv", "2024/01/jan.csv", "2024/02/feb.csv", "top.csv"}));
  EXPECT_EQ(Relative(ListFiles(dir.str(), "**"), dir.path()),
            (std::vector<std::string>{"2023/dec.csv", "2024/01/jan.csv", "2024/02/feb.csv",
                                      "2024/02/notes.txt", "top.csv"}));
  EXPECT_EQ(Relative(ListFiles(dir.str(), "2024/**/*.csv"), dir.path()),
            (std::vector<std::string>{"2024/01/jan.csv", "2024/02/feb.csv"}));
}

TEST(FilesystemSource, ListFilesNestedFolderPatterns) {
  TempDir dir;
  dir.Write("2024/01/jan.csv", "x\n");
  dir.Write("2024/02/feb.csv", "x\n");
  dir.Write("2024/top.csv", "x\n");
  EXPECT_EQ(Relative(ListFiles(dir.str(), "2024/*/*.csv"), dir.path()),
            (std::vector<std::string>{"2024/01/jan.csv", "2024/02/feb.csv"}));
  EXPECT_EQ(Relative(ListFiles(dir.str(), "*/*.csv"), dir.path()),
            (std::vector<std::string>{"2024/top.csv"}));
  EXPECT_EQ(Relative(ListFiles(dir.str(), "2024/02/feb.csv"), dir.path()),
            (std::vector<std::string>{"2024/02/feb.csv"}));
  EXPECT_TRUE(ListFiles(dir.str(), "*.parquet").empty());
}

TEST(FilesystemSource, ListFilesAcceptsFileUrlsAndRelativePaths) {
  TempDir dir;
  dir.Write("my data/a.csv", "x\n");
  EXPECT_EQ(ListFiles("file://" + dir.str() + "/my%20data", "*").size(), 1u);
  fs::path old = fs::current_path();
  fs::current_path(dir.path());
  std::vector<fs::path> files = ListFiles("my data", "*.csv");
  fs::current_path(old);
  ASSERT_EQ(files.size(), 1u);
  EXPECT_TRUE(files[0].is_absolute());
  EXPECT_EQ(files[0].filename(), "a.csv");
}

TEST(FilesystemSource, ListFilesMissingFolderIsSourceError) {
  TempDir dir;
  std::string msg = ErrorText(ErrorKind::kSource, [&] { ListFiles(dir.str() + "/nope", "*"); });
  EXPECT_NE(msg.find(dir.str() + "/nope"), std::string::npos) << msg;
  ErrorText(ErrorKind::kConfig, [&] { ListFiles("s3://bucket/x", "*"); });
  msg = ErrorText(ErrorKind::kConfig,
                  [&] { MakeFilesystemResource("orders", "s3://bucket/x", "*", std::nullopt); });
  EXPECT_NE(msg.find("sources.filesystem.orders.bucket_url"), std::string::npos) << msg;
}

TEST(FilesystemSource, MissingFolderNamesResourceAndConfigKey) {
  TempDir dir;
  Resource resource = MakeFilesystemResource("orders", dir.str() + "/missing", "*", std::nullopt);
  CollectingEmitter emitter;
  std::string msg = ErrorText(ErrorKind::kSource, [&] { resource.fn()(emitter); });
  EXPECT_NE(msg.find(dir.str() + "/missing"), std::string::npos) << msg;
  EXPECT_NE(msg.find("resource orders"), std::string::npos) << msg;
  EXPECT_NE(msg.find("sources.filesystem.orders.bucket_url"), std::string::npos) << msg;
}

TEST(FilesystemSource, NoMatchingFilesYieldsNothing) {
  TempDir dir;
  Resource resource = MakeFilesystemResource("orders", dir.str(), "*.csv", std::nullopt);
  CollectingEmitter emitter;
  resource.fn()(emitter);
  EXPECT_TRUE(emitter.batches.empty());
}

TEST(FilesystemSource, CsvStreamsTypedColumns) {
  TempDir dir;
  dir.Write("orders.csv",
            "id,amount,name,day,ts,flag\n"
            "1,1.5,alice,2024-01-15,2024-01-15 10:30:00,true\n"
            "2,2.25,,2024-01-16,2024-01-16 00:00:00,false\n");
  Resource resource = MakeFilesystemResource("orders", dir.str(), "*.csv", std::nullopt);
  CollectingEmitter emitter;
  resource.fn()(emitter);
  ASSERT_EQ(emitter.batches.size(), 1u);
  const Batch& b = emitter.batches[0];
  ASSERT_EQ(b.num_rows(), 2u);
  ASSERT_EQ(b.num_columns(), 6u);
  const Fields& f = b.fields();
  EXPECT_EQ(f[0].name, "id");
  EXPECT_EQ(f[0].type.id, PhysicalType::kInt64);
  EXPECT_EQ(f[1].type.id, PhysicalType::kDouble);
  EXPECT_EQ(f[2].type.id, PhysicalType::kText);
  EXPECT_EQ(f[3].type.id, PhysicalType::kDate);
  EXPECT_EQ(f[4].type.id, PhysicalType::kTimestamp);
  EXPECT_EQ(f[5].type.id, PhysicalType::kBool);
  EXPECT_EQ(b.column(0).Get<int64_t>(1), 2);
  EXPECT_DOUBLE_EQ(b.column(1).Get<double>(1), 2.25);
  EXPECT_EQ(b.column(2).GetString(0), "alice");
  EXPECT_FALSE(b.column(2).IsValid(1));
  EXPECT_EQ(b.column(3).Get<int32_t>(0), 19737);
  EXPECT_EQ(b.column(4).Get<int64_t>(0), int64_t{1705314600000000});
  EXPECT_EQ(b.column(5).Get<uint8_t>(0), 1);
  EXPECT_EQ(b.column(5).Get<uint8_t>(1), 0);
}

TEST(FilesystemSource, ParquetStreamsTypedColumns) {
  TempDir dir;
  fs::path file = dir.path() / "events.parquet";
  {
    auto db = db::DuckDatabase::Open(":memory:", {1, ""}, ErrorKind::kSource);
    db::DuckConnection con(db, ErrorKind::kSource);
    con.Execute(
        "COPY (SELECT i::BIGINT AS id, i * 0.5::DOUBLE AS score, 'e' || i AS name, "
        "DATE '2024-01-15' + i::INTEGER AS day, TIMESTAMP '2024-01-15 10:30:00' AS ts, "
        "i % 2 = 0 AS even FROM range(5) t(i)) TO " +
        db::QuoteLiteral(file.string()) + " (FORMAT parquet)");
  }
  Resource resource = MakeFilesystemResource("events", dir.str(), "*", std::nullopt);
  CollectingEmitter emitter;
  resource.fn()(emitter);
  ASSERT_EQ(emitter.batches.size(), 1u);
  const Batch& b = emitter.batches[0];
  ASSERT_EQ(b.num_rows(), 5u);
  const Fields& f = b.fields();
  ASSERT_EQ(f.size(), 6u);
  EXPECT_EQ(f[0].type.id, PhysicalType::kInt64);
  EXPECT_EQ(f[1].type.id, PhysicalType::kDouble);
  EXPECT_EQ(f[2].type.id, PhysicalType::kText);
  EXPECT_EQ(f[3].type.id, PhysicalType::kDate);
  EXPECT_EQ(f[4].type.id, PhysicalType::kTimestamp);
  EXPECT_EQ(f[5].type.id, PhysicalType::kBool);
  EXPECT_EQ(b.column(0).Get<int64_t>(4), 4);
  EXPECT_DOUBLE_EQ(b.column(1).Get<double>(3), 1.5);
  EXPECT_EQ(b.column(2).GetString(2), "e2");
  EXPECT_EQ(b.column(3).Get<int32_t>(1), 19738);
  EXPECT_EQ(b.column(4).Get<int64_t>(0), int64_t{1705314600000000});
  EXPECT_EQ(b.column(5).Get<uint8_t>(0), 1);
  EXPECT_EQ(b.column(5).Get<uint8_t>(1), 0);
}

TEST(FilesystemSource, ExplicitFormatOverridesExtension) {
  TempDir dir;
  dir.Write("data.txt", "a,b\n1,x\n");
  CollectingEmitter emitter;
  MakeFilesystemResource("t", dir.str(), "*", "csv").fn()(emitter);
  EXPECT_EQ(emitter.TotalRows(), 1u);
  ErrorText(ErrorKind::kConfig, [&] { MakeFilesystemResource("t", dir.str(), "*", "xml"); });
}

TEST(FilesystemSource, UnknownExtensionNamesFile) {
  TempDir dir;
  dir.Write("a.csv", "a\n1\n");
  dir.Write("notes.txt", "hello\n");
  CollectingEmitter emitter;
  Resource resource = MakeFilesystemResource("t", dir.str(), "*", std::nullopt);
  std::string msg = ErrorText(ErrorKind::kConfig, [&] { resource.fn()(emitter); });
  EXPECT_NE(msg.find("notes.txt"), std::string::npos) << msg;
  EXPECT_TRUE(emitter.batches.empty());  // fails before reading anything
  // JSON Lines are read (.jsonl, .ndjson); a plain .json document is refused by name.
  dir.Write("more.json", "{}\n");
  msg = ErrorText(ErrorKind::kConfig, [&] {
    MakeFilesystemResource("t", dir.str(), "*.json", std::nullopt).fn()(emitter);
  });
  EXPECT_NE(msg.find("more.json"), std::string::npos) << msg;
  EXPECT_NE(msg.find(".jsonl"), std::string::npos) << msg;
}

TEST(FilesystemSource, ChunkSizeSplitsBatchesExactly) {
  TempDir dir;
  WriteNumberedCsv(dir, "a.csv", 10);
  WriteNumberedCsv(dir, "b.csv", 5000);
  CollectingEmitter emitter;
  MakeFilesystemResource("t", dir.str(), "*.csv", std::nullopt, 3000).fn()(emitter);
  // A batch never spans two files.
  std::vector<size_t> sizes;
  for (const Batch& b : emitter.batches) sizes.push_back(b.num_rows());
  EXPECT_EQ(sizes, (std::vector<size_t>{10, 3000, 2000}));
  // Rows stay in order across the cuts.
  const Batch& second = emitter.batches[2];
  for (size_t r = 0; r < second.num_rows(); ++r) {
    ASSERT_EQ(second.column(0).Get<int64_t>(r), static_cast<int64_t>(3000 + r));
    ASSERT_EQ(second.column(1).GetString(r), "row" + std::to_string(3000 + r));
  }

  CollectingEmitter small;
  MakeFilesystemResource("t", dir.str(), "a.csv", std::nullopt, 3).fn()(small);
  sizes.clear();
  for (const Batch& b : small.batches) sizes.push_back(b.num_rows());
  EXPECT_EQ(sizes, (std::vector<size_t>{3, 3, 3, 1}));
  EXPECT_EQ(small.batches[3].column(0).Get<int64_t>(0), 9);
}

TEST(FilesystemSource, EmitReturningFalseStops) {
  TempDir dir;
  WriteNumberedCsv(dir, "a.csv", 10);
  WriteNumberedCsv(dir, "b.csv", 10);
  CollectingEmitter emitter(/*stop_after=*/2);
  MakeFilesystemResource("t", dir.str(), "*.csv", std::nullopt, 4).fn()(emitter);
  EXPECT_EQ(emitter.batches.size(), 2u);
}

TEST(FilesystemSource, EmitterExceptionPassesThroughUnchanged) {
  class Throwing : public Emitter {
   public:
    bool Emit(Batch) override { throw Error(ErrorKind::kInterrupted, "stop now"); }
  };
  TempDir dir;
  WriteNumberedCsv(dir, "a.csv", 3);
  Throwing emitter;
  std::string msg = ErrorText(ErrorKind::kInterrupted, [&] {
    MakeFilesystemResource("t", dir.str(), "*.csv", std::nullopt).fn()(emitter);
  });
  EXPECT_EQ(msg, "stop now");
}

TEST(FilesystemSource, MalformedCsvIsSourceErrorNamingFile) {
  TempDir dir;
  std::string rows = "a,b\n";
  for (int i = 0; i < 100; ++i) rows += std::to_string(i) + ",x\n";
  fs::path file = dir.Write("bad.csv", rows + "1,\"unterminated\n");
  Resource resource = MakeFilesystemResource("orders", dir.str(), "*.csv", std::nullopt);
  CollectingEmitter emitter;
  std::string msg = ErrorText(ErrorKind::kSource, [&] { resource.fn()(emitter); });
  EXPECT_NE(msg.find(file.string()), std::string::npos) << msg;
  EXPECT_NE(msg.find("orders"), std::string::npos) << msg;

  TempDir dir2;
  fs::path file2 = dir2.Write("wide.csv", rows + "1,2,3,4\n");
  msg = ErrorText(ErrorKind::kSource, [&] {
    MakeFilesystemResource("orders", dir2.str(), "*.csv", std::nullopt).fn()(emitter);
  });
  EXPECT_NE(msg.find(file2.string()), std::string::npos) << msg;
  EXPECT_NE(msg.find("line 102"), std::string::npos) << msg;

  // Past the sniffer's sample DuckDB's own error names the line.
  std::string many = "a,b\n";
  for (int i = 0; i < 60000; ++i) many += std::to_string(i) + ",x\n";
  TempDir dir3;
  fs::path file3 = dir3.Write("late.csv", many + "1,\"unterminated\n");
  msg = ErrorText(ErrorKind::kSource, [&] {
    MakeFilesystemResource("orders", dir3.str(), "*.csv", std::nullopt).fn()(emitter);
  });
  EXPECT_NE(msg.find(file3.string()), std::string::npos) << msg;
  EXPECT_NE(msg.find("Line: 60002"), std::string::npos) << msg;
  EXPECT_EQ(msg.find("Possible fixes"), std::string::npos) << msg;
}

TEST(FilesystemSource, TsvAndQuotedCsv) {
  TempDir dir;
  dir.Write("a.tsv", "id\tname\n1\t\"x, y\"\n");
  dir.Write("b.csv", "id,name\n2,\"say \"\"hi\"\"\"\n3,\"two\nlines\"\n");
  CollectingEmitter emitter;
  MakeFilesystemResource("t", dir.str(), "*", std::nullopt).fn()(emitter);
  ASSERT_EQ(emitter.batches.size(), 2u);
  EXPECT_EQ(emitter.batches[0].column(1).GetString(0), "x, y");
  EXPECT_EQ(emitter.batches[1].column(1).GetString(0), "say \"hi\"");
  EXPECT_EQ(emitter.batches[1].column(1).GetString(1), "two\nlines");
}

TEST(FilesystemSource, UnreadableParquetIsSourceError) {
  TempDir dir;
  fs::path file = dir.Write("broken.parquet", "this is not parquet");
  CollectingEmitter emitter;
  std::string msg = ErrorText(ErrorKind::kSource, [&] {
    MakeFilesystemResource("t", dir.str(), "*", std::nullopt).fn()(emitter);
  });
  EXPECT_NE(msg.find(file.string()), std::string::npos) << msg;
}

TEST(FilesystemSource, MakeSourceFromConfig) {
  TempDir dir;
  WriteNumberedCsv(dir, "data/orders/a.csv", 5);
  dir.Write("data/customers/c.csv", "id\n1\n");
  config::Config config = LoadConfig(dir,
                                     "[sources.filesystem]\n"
                                     "bucket_url = \"" +
                                         dir.str() +
                                         "/data/orders\"\n"
                                         "[sources.filesystem.orders]\n"
                                         "file_glob = \"*.csv\"\n"
                                         "chunk_size = 2\n"
                                         "add_limit = 2\n"
                                         "[sources.filesystem.customers]\n"
                                         "bucket_url = \"" +
                                         dir.str() +
                                         "/data/customers\"\n"
                                         "[sources.filesystem.data_writer]\n"
                                         "buffer_max_items = 10\n");
  Source source = MakeSource("filesystem", config);
  EXPECT_EQ(source.name, "filesystem");
  ASSERT_EQ(source.resources.size(), 2u);
  EXPECT_EQ(source.resources[0].name(), "customers");
  EXPECT_EQ(source.resources[1].name(), "orders");
  EXPECT_EQ(source.resources[1].limit(), std::optional<int64_t>(2));
  CollectingEmitter emitter;
  source.resources[1].fn()(emitter);  // bucket_url from the source level, chunk_size 2
  EXPECT_EQ(emitter.batches.size(), 3u);
  CollectingEmitter customers;
  source.resources[0].fn()(customers);
  EXPECT_EQ(customers.TotalRows(), 1u);
}

TEST(FilesystemSource, MakeSourceErrors) {
  TempDir dir;
  std::string msg =
      ErrorText(ErrorKind::kConfig, [&] { MakeSource("filesystem", LoadConfig(dir, "")); });
  EXPECT_NE(msg.find("[sources.filesystem.<table>]"), std::string::npos) << msg;
  msg = ErrorText(ErrorKind::kConfig, [&] {
    MakeSource("filesystem", LoadConfig(dir, "[sources.filesystem.orders]\nfile_glob = \"*\"\n"));
  });
  EXPECT_NE(msg.find("bucket_url"), std::string::npos) << msg;
  msg = ErrorText(ErrorKind::kConfig, [&] {
    MakeSource("filesystem", LoadConfig(dir,
                                        "[sources.filesystem.orders]\nbucket_url = \"x\"\nformat = "
                                        "\"xml\"\n"));
  });
  EXPECT_NE(msg.find("sources.filesystem.orders.format"), std::string::npos) << msg;
  msg = ErrorText(ErrorKind::kConfig, [&] { MakeSource("x", config::Config()); });
  EXPECT_EQ(msg,
            "unknown source \"x\" (config key pipeline.source); known sources are: filesystem, "
            "sql_database");
  EXPECT_EQ(SourceNames(), (std::vector<std::string>{"filesystem", "sql_database"}));
}

TEST(FilesystemSource, ApplyResourceHintsParsesConfig) {
  TempDir dir;
  config::Config config =
      LoadConfig(dir,
                 "[sources.filesystem.orders]\n"
                 "write_disposition = {disposition = \"merge\", strategy = \"delete-insert\"}\n"
                 "primary_key = \"id\"\n"
                 "merge_key = [\"day\", \"region\"]\n"
                 "table_name = \"all_orders\"\n"
                 "columns = {amount = {data_type = \"decimal\", precision = 10, scale = 2}, "
                 "id = {nullable = false, primary_key = true}, ts = {data_type = \"timestamp\", "
                 "timezone = false}}\n"
                 "[sources.filesystem.items]\n"
                 "write_disposition = \"replace\"\n");
  Resource orders("orders", [](Emitter&) {});
  ApplyResourceHints(orders, config, "filesystem");
  const ResourceHints& h = orders.hints();
  EXPECT_EQ(h.write_disposition, std::optional<std::string>("merge"));
  EXPECT_EQ(h.primary_key, std::vector<std::string>{"id"});
  EXPECT_EQ(h.merge_key, (std::vector<std::string>{"day", "region"}));
  EXPECT_EQ(h.table_name, std::optional<std::string>("all_orders"));
  ASSERT_EQ(h.columns.size(), 3u);
  EXPECT_EQ(h.columns[0].name, "amount");
  EXPECT_EQ(h.columns[0].data_type, std::optional<std::string>("decimal"));
  EXPECT_EQ(h.columns[0].precision, std::optional<int>(10));
  EXPECT_EQ(h.columns[0].scale, std::optional<int>(2));
  EXPECT_EQ(h.columns[1].name, "id");
  EXPECT_EQ(h.columns[1].nullable, std::optional<bool>(false));
  EXPECT_EQ(h.columns[1].primary_key, std::optional<bool>(true));
  EXPECT_EQ(h.columns[2].timezone, std::optional<bool>(false));

  Resource items("items", [](Emitter&) {});
  items.primary_key({"kept"});
  ApplyResourceHints(items, config, "filesystem");
  EXPECT_EQ(items.hints().write_disposition, std::optional<std::string>("replace"));
  EXPECT_EQ(items.hints().primary_key, std::vector<std::string>{"kept"});
  EXPECT_TRUE(items.hints().columns.empty());
}

TEST(FilesystemSource, ApplyResourceHintsFromEnvironment) {
  config::Config config(std::map<std::string, std::string>{
      {"SOURCES__FILESYSTEM__ORDERS__WRITE_DISPOSITION", "{disposition = \"replace\"}"},
      {"SOURCES__FILESYSTEM__ORDERS__PRIMARY_KEY", "[\"a\", \"b\"]"},
      {"SOURCES__FILESYSTEM__ORDERS__COLUMNS", "{\"a\": {\"data_type\": \"bigint\"}}"}});
  Resource orders("orders", [](Emitter&) {});
  ApplyResourceHints(orders, config, "filesystem");
  EXPECT_EQ(orders.hints().write_disposition, std::optional<std::string>("replace"));
  EXPECT_EQ(orders.hints().primary_key, (std::vector<std::string>{"a", "b"}));
  ASSERT_EQ(orders.hints().columns.size(), 1u);
  EXPECT_EQ(orders.hints().columns[0].data_type, std::optional<std::string>("bigint"));
}

TEST(FilesystemSource, ApplyResourceHintsErrorsNameTheKey) {
  struct Case {
    std::string toml;
    std::string key;
  };
  std::vector<Case> cases = {
      {"write_disposition = \"upsert\"", "sources.filesystem.orders.write_disposition"},
      {"write_disposition = {disposition = \"merge\", strategy = \"scd3\"}",
       "sources.filesystem.orders.write_disposition"},
      {"write_disposition = {strategy = \"delete-insert\"}",
       "sources.filesystem.orders.write_disposition"},
      {"columns = {a = {data_type = \"integer\"}}",
       "sources.filesystem.orders.columns.a.data_type"},
      {"columns = {a = {nulable = true}}", "sources.filesystem.orders.columns.a.nulable"},
      {"columns = {a = {nullable = 3}}", "sources.filesystem.orders.columns.a.nullable"},
      {"columns = {a = \"bigint\"}", "sources.filesystem.orders.columns"},
      {"primary_key = {a = 1}", "sources.filesystem.orders.primary_key"},
  };
  for (const Case& c : cases) {
    TempDir dir;
    config::Config config = LoadConfig(dir, "[sources.filesystem.orders]\n" + c.toml + "\n");
    Resource orders("orders", [](Emitter&) {});
    std::string msg =
        ErrorText(ErrorKind::kConfig, [&] { ApplyResourceHints(orders, config, "filesystem"); });
    EXPECT_NE(msg.find(c.key), std::string::npos) << c.toml << " → " << msg;
  }
}

}  // namespace
}  // namespace cdlt::sources::filesystem
