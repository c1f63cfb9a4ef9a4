#include "helpers/test_util.hpp"

#include <fmt/format.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <array>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>

#include "db/duckdb_conn.hpp"
#include "io/file.hpp"
#include "io/text_stream.hpp"

namespace cdlt::test {

TempDir::TempDir() {
  path_ = fs::temp_directory_path() / ("cdlt-test-" + io::RandomHex(6));
  fs::create_directories(path_);
}

TempDir::~TempDir() {
  if (std::getenv("CDLT_KEEP_TEST_DIRS") != nullptr) return;
  std::error_code ec;
  fs::remove_all(path_, ec);
}

void WriteText(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out << text;
}

void WriteGzip(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  gzFile g = gzopen(path.c_str(), "wb");
  ASSERT_NE(g, nullptr) << path;
  ASSERT_EQ(gzwrite(g, text.data(), static_cast<unsigned>(text.size())),
            static_cast<int>(text.size()));
  ASSERT_EQ(gzclose(g), Z_OK);
}

void WriteZstd(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  io::CompressedFileWriter w(path, true);
  w.Write(text);
  w.Close();
}

std::string DuckDbPipelineToml(const fs::path& dir, std::string_view pipeline_name,
                               std::string_view source, std::string_view dataset) {
  return fmt::format(R"([pipeline]
pipeline_name = "{1}"
destination = "duckdb"
dataset_name = "{2}"
source = "{3}"
pipelines_dir = "{0}/pipelines"
progress = "none"

[destination.duckdb]
credentials = "{0}/out.duckdb"

)",
                     dir.string(), pipeline_name, dataset, source);
}

namespace {
std::string ReadAll(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
}  // namespace

CommandResult RunCli(const std::vector<std::string>& args, const fs::path& cwd,
                     const std::map<std::string, std::string>& env) {
  fs::path out_file = cwd / (".cli-out-" + io::RandomHex(4));
  fs::path err_file = cwd / (".cli-err-" + io::RandomHex(4));
  pid_t pid = fork();
  if (pid == 0) {
    if (chdir(cwd.c_str()) != 0) _exit(127);
    FILE* o = freopen(out_file.c_str(), "w", stdout);
    FILE* e = freopen(err_file.c_str(), "w", stderr);
    (void)o;
    (void)e;
    for (const auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
    std::vector<char*> argv;
    std::string bin = CDLT_BINARY_PATH;
    argv.push_back(bin.data());
    std::vector<std::string> copy = args;
    for (auto& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(bin.c_str(), argv.data());
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  CommandResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = ReadAll(out_file);
  r.err = ReadAll(err_file);
  fs::remove(out_file);
  fs::remove(err_file);
  return r;
}

std::string Describe(const CommandResult& r) {
  return fmt::format("exit {}\n--- stdout:\n{}\n--- stderr:\n{}", r.exit_code, r.out, r.err);
}

std::vector<std::string> QueryDuck(const fs::path& database, const std::string& sql) {
  auto db = db::DuckDatabase::Open(database.string());
  db::DuckConnection con(db);
  db::TextRows rows = con.QueryText(sql);
  std::vector<std::string> out;
  for (const auto& row : rows.rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      if (i > 0) line += "|";
      line += row[i].value_or("NULL");
    }
    out.push_back(line);
  }
  return out;
}

std::string QueryDuckScalar(const fs::path& database, const std::string& sql) {
  auto rows = QueryDuck(database, sql);
  return rows.empty() ? std::string() : rows[0];
}

}  // namespace cdlt::test
