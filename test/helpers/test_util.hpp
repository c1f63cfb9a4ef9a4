#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"

namespace cdlt::test {

namespace fs = std::filesystem;

/// A fresh folder under the system temp dir, removed at the end of the test.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }
  fs::path operator/(const std::string& rel) const { return path_ / rel; }

 private:
  fs::path path_;
};

void WriteText(const fs::path& path, const std::string& text);
/// Write `text` gzip-compressed (fails the test if zlib does).
void WriteGzip(const fs::path& path, const std::string& text);
/// Write `text` as one zstd frame.
void WriteZstd(const fs::path& path, const std::string& text);

/// The exit code the tests see for a process killed with SIGKILL (as a shell reports it).
inline constexpr int kKilledExitCode = 128 + 9;

/// The `[pipeline]` and `[destination.duckdb]` sections of a project's .dlt/config.toml for a
/// pipeline into a DuckDB file: pipelines_dir is `dir`/pipelines, the database `dir`/out.duckdb,
/// progress output off. Callers append their source's sections.
std::string DuckDbPipelineToml(const fs::path& dir, std::string_view pipeline_name,
                               std::string_view source, std::string_view dataset = "ds");

/// Result of running the cdlt CLI.
struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

/// Run the built `cdlt` binary with `args` in `cwd`, with extra environment variables.
CommandResult RunCli(const std::vector<std::string>& args, const fs::path& cwd,
                     const std::map<std::string, std::string>& env = {});

/// Exit code, stdout and stderr of a CLI run, for failure messages.
std::string Describe(const CommandResult& r);

/// Run a query against a DuckDB file and return its rows as text ("NULL" for NULL), columns
/// joined by '|'.
std::vector<std::string> QueryDuck(const fs::path& database, const std::string& sql);
/// First value of a one-value query.
std::string QueryDuckScalar(const fs::path& database, const std::string& sql);

}  // namespace cdlt::test

/// Assert that `expr` throws cdlt::Error of `kind` whose message contains `substr`.
#define EXPECT_CDLT_ERROR(expr, error_kind, substr)                                 \
  do {                                                                              \
    try {                                                                           \
      expr;                                                                         \
      ADD_FAILURE() << "expected cdlt::Error from " #expr;                          \
    } catch (const ::cdlt::Error& e) {                                              \
      EXPECT_EQ(e.kind(), error_kind) << e.what();                                  \
      EXPECT_NE(std::string(e.what()).find(substr), std::string::npos) << e.what(); \
    }                                                                               \
  } while (0)
