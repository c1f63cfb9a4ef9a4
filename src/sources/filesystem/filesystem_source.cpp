#include "sources/filesystem/filesystem_source.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <exception>
#include <limits>
#include <memory>
#include <string_view>
#include <system_error>
#include <utility>

#include "common/error.hpp"
#include "common/logging.hpp"
#include "common/text.hpp"
#include "config/config.hpp"
#include "db/duckdb_conn.hpp"
#include "io/text_stream.hpp"
#include "sources/source_registry.hpp"

namespace cdlt::sources::filesystem {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kSourceName = "filesystem";
// Sub-tables of [sources.filesystem] that are settings of the source, not tables.
constexpr std::string_view kReservedSections[] = {"credentials", "data_writer", "extract"};

std::string BucketKey(const std::string& resource) {
  return fmt::format("sources.{}.{}.bucket_url", kSourceName, resource);
}

// ---------------------------------------------------------------------------------------------
// Globs

// Matches a `[...]` class at the start of `pattern` against `c`; `consumed` gets the class
// length. Returns nullopt when the class is not closed (the `[` is then a literal).
std::optional<bool> MatchClass(std::string_view pattern, char c, size_t* consumed) {
  size_t i = 1;
  bool negate = false;
  if (i < pattern.size() && (pattern[i] == '!' || pattern[i] == '^')) {
    negate = true;
    ++i;
  }
  bool matched = false;
  bool first = true;
  while (i < pattern.size() && (first || pattern[i] != ']')) {
    first = false;
    char lo = pattern[i];
    char hi = lo;
    if (i + 2 < pattern.size() && pattern[i + 1] == '-' && pattern[i + 2] != ']') {
      hi = pattern[i + 2];
      i += 2;
    }
    if (lo <= c && c <= hi) matched = true;
    ++i;
  }
  if (i >= pattern.size()) return std::nullopt;
  *consumed = i + 1;
  return matched != negate;
}

// Glob match of a '/'-separated relative path: `*`, `?` and classes stay within one level,
// `**` crosses levels and `**/` also matches no folder at all.
bool GlobMatch(std::string_view pattern, std::string_view path) {
  while (!pattern.empty()) {
    if (pattern.size() >= 2 && pattern[0] == '*' && pattern[1] == '*') {
      size_t stars = pattern.find_first_not_of('*');
      std::string_view rest = stars == std::string_view::npos ? "" : pattern.substr(stars);
      if (!rest.empty() && rest[0] == '/') {
        rest.remove_prefix(1);
        if (GlobMatch(rest, path)) return true;
        for (size_t i = 0; i < path.size(); ++i) {
          if (path[i] == '/' && GlobMatch(rest, path.substr(i + 1))) return true;
        }
        return false;
      }
      for (size_t i = 0; i <= path.size(); ++i) {
        if (GlobMatch(rest, path.substr(i))) return true;
      }
      return false;
    }
    if (pattern[0] == '*') {
      std::string_view rest = pattern.substr(1);
      for (size_t i = 0; i <= path.size(); ++i) {
        if (GlobMatch(rest, path.substr(i))) return true;
        if (i < path.size() && path[i] == '/') break;
      }
      return false;
    }
    if (path.empty()) return false;
    if (pattern[0] == '?') {
      if (path[0] == '/') return false;
      pattern.remove_prefix(1);
      path.remove_prefix(1);
      continue;
    }
    if (pattern[0] == '[' && path[0] != '/') {
      size_t consumed = 0;
      if (std::optional<bool> in_class = MatchClass(pattern, path[0], &consumed)) {
        if (!*in_class) return false;
        pattern.remove_prefix(consumed);
        path.remove_prefix(1);
        continue;
      }
    }
    if (pattern[0] != path[0]) return false;
    pattern.remove_prefix(1);
    path.remove_prefix(1);
  }
  return path.empty();
}

// A local folder for `bucket_url`: a path, or a file:// URL (percent-decoded).
fs::path LocalFolder(const std::string& bucket_url) {
  std::string_view url = bucket_url;
  size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return fs::absolute(fs::path(bucket_url));
  std::string scheme = ToLower(url.substr(0, scheme_end));
  if (scheme != "file") {
    Throw(ErrorKind::kConfig,
          "bucket_url {} uses the scheme {}://, which is not supported yet: the filesystem "
          "source reads local folders (a path or a file:// URL)",
          bucket_url, scheme);
  }
  std::string_view rest = url.substr(scheme_end + 3);
  if (rest.rfind("localhost/", 0) == 0) rest.remove_prefix(std::string_view("localhost").size());
  // A '%' without two hex digits after it is part of the folder name.
  std::string decoded = *PercentDecode(rest, BadPercentEscape::kKeep);
  if (decoded.empty()) Throw(ErrorKind::kConfig, "bucket_url {} names no folder", bucket_url);
  return fs::absolute(fs::path(decoded));
}

// ---------------------------------------------------------------------------------------------
// Formats

enum class FileFormat { kCsv, kParquet, kJsonl };

std::string_view FormatName(FileFormat format) {
  switch (format) {
    case FileFormat::kCsv:
      return "csv";
    case FileFormat::kParquet:
      return "parquet";
    case FileFormat::kJsonl:
      return "jsonl";
  }
  return "?";
}

// Parses a configured format; `what` names the setting for the message.
FileFormat ParseFormat(const std::string& text, std::string_view what) {
  std::string lower = ToLower(text);
  if (lower == "csv") return FileFormat::kCsv;
  if (lower == "parquet") return FileFormat::kParquet;
  if (lower == "jsonl") return FileFormat::kJsonl;
  Throw(ErrorKind::kConfig, "invalid format \"{}\" ({}): allowed values are csv, parquet, jsonl",
        text, what);
}

FileFormat FormatOfFile(const fs::path& file, const std::string& resource) {
  std::string name = ToLower(file.filename().string());
  auto ends_with = [&](std::string_view suffix) {
    return name.size() >= suffix.size() &&
           name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  // DuckDB's CSV reader decompresses these by their extension.
  for (std::string_view compression : {".gz", ".zst"}) {
    if (ends_with(compression)) {
      name.resize(name.size() - compression.size());
      break;
    }
  }
  if (ends_with(".csv") || ends_with(".tsv")) return FileFormat::kCsv;
  if (ends_with(".parquet") || ends_with(".pq")) return FileFormat::kParquet;
  if (ends_with(".jsonl") || ends_with(".ndjson")) return FileFormat::kJsonl;
  if (ends_with(".json")) {
    Throw(ErrorKind::kConfig,
          "file {} of resource {} is a .json file, which the filesystem source does not read: "
          "it reads JSON Lines (.jsonl, .ndjson, optionally .gz or .zst); narrow file_glob",
          file.string(), resource);
  }
  Throw(ErrorKind::kConfig,
        "cannot tell the format of file {} of resource {} from its extension (.csv, .tsv, "
        ".parquet, .pq, .jsonl or .ndjson): set format = \"csv\", \"parquet\" or \"jsonl\" in "
        "[sources.filesystem.{}] or narrow file_glob",
        file.string(), resource, resource);
}

// ---------------------------------------------------------------------------------------------
// Reading

/// Thrown from the streaming callback to leave StreamBatches early.
struct StopStreaming {};
/// Carries an exception thrown by the emitter past the DuckDB error handling unchanged.
struct EmitterFailure {
  std::exception_ptr error;
};

/// Cuts the batches DuckDB produces (one per vector) into batches of exactly `chunk_size` rows.
class Rechunker {
 public:
  Rechunker(size_t chunk_size, Emitter& emitter) : chunk_size_(chunk_size), emitter_(emitter) {}

  /// Returns false once the emitter asked to stop.
  bool Add(Batch& batch) {
    size_t rows = batch.num_rows();
    if (rows == 0) return true;
    if (!pending_ && rows == chunk_size_) return Emit(std::move(batch));
    size_t offset = 0;
    while (offset < rows) {
      if (!pending_) pending_.emplace(batch.fields());
      size_t take = std::min(chunk_size_ - pending_->num_rows(), rows - offset);
      for (size_t c = 0; c < batch.num_columns(); ++c) {
        Column& out = pending_->column(c);
        const Column& in = batch.column(c);
        for (size_t r = offset; r < offset + take; ++r) out.AppendFrom(in, r);
      }
      offset += take;
      if (pending_->num_rows() == chunk_size_ && !Flush()) return false;
    }
    return true;
  }

  /// Emits the rows held back; returns false once the emitter asked to stop.
  bool Flush() {
    if (!pending_) return true;
    Batch out = std::move(*pending_);
    pending_.reset();
    return Emit(std::move(out));
  }

 private:
  bool Emit(Batch batch) {
    try {
      return emitter_.Emit(std::move(batch));
    } catch (...) {
      throw EmitterFailure{std::current_exception()};
    }
  }

  size_t chunk_size_;
  Emitter& emitter_;
  std::optional<Batch> pending_;
};

struct ResourceSpec {
  std::string name;
  std::string bucket_url;
  std::string file_glob;
  std::optional<FileFormat> format;
  size_t chunk_size;
};

// The read_csv options. The dialect is pinned (RFC 4180 quoting, the delimiter from the
// extension, no skipped rows, strict mode) because DuckDB's sniffer otherwise "repairs" a broken
// file by choosing another delimiter, no quoting or skipping rows, silently loading wrong data.
// Header and column types are still detected.
std::string CsvOptions(const fs::path& file) {
  std::string name = ToLower(file.filename().string());
  bool tab = name.find(".tsv") != std::string::npos;
  return fmt::format(
      "header = true, auto_detect = true, skip = 0, delim = '{}', quote = '\"', "
      "escape = '\"', strict_mode = true",
      tab ? "\\t" : ",");
}

// DuckDB's message without its "possible fixes" (options cdlt does not expose) and SQL echo.
std::string TrimDuckMessage(std::string message) {
  for (std::string_view marker :
       {"\nPossible fixes:", "\nThe search space used was:", "\n\nLINE ", "\nLINE "}) {
    size_t at = message.find(marker);
    if (at != std::string::npos) message.resize(at);
  }
  // One line per part, blank lines dropped.
  std::string out;
  size_t start = 0;
  while (start <= message.size()) {
    size_t end = std::min(message.find('\n', start), message.size());
    std::string_view line(message.data() + start, end - start);
    while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) {
      line.remove_suffix(1);
    }
    if (!line.empty()) {
      if (!out.empty()) out += "; ";
      out += line;
    }
    start = end + 1;
  }
  return out;
}

// When the sniffer rejects a file it names no line: scan it once more keeping rejected rows to
// find the first bad one (an unterminated quote is not found that way: then give a hint).
std::string FirstBadCsvRow(db::DuckConnection& con, const fs::path& file) {
  try {
    con.QueryScalar(
        fmt::format("SELECT count(*) FROM read_csv({}, {}, all_varchar = true, "
                    "store_rejects = true)",
                    db::QuoteLiteral(file.string()), CsvOptions(file)));
    db::TextRows rows = con.QueryText(
        "SELECT line, error_message, csv_line FROM reject_errors ORDER BY line LIMIT 1");
    if (!rows.rows.empty()) {
      const auto& row = rows.rows[0];
      return fmt::format("; first bad row: line {}: {}; original line: {}", row[0].value_or("?"),
                         row[1].value_or("?"), row[2].value_or(""));
    }
  } catch (const Error&) {
    // The diagnostic scan failed as well; fall back to the hint.
  }
  bool tab = ToLower(file.filename().string()).find(".tsv") != std::string::npos;
  return fmt::format(
      "; check for an unterminated quote or rows with more or fewer fields than the header "
      "(delimiter '{}', quote '\"')",
      tab ? "\\t" : ",");
}

// Streams a JSON Lines file (plain, .gz or .zst) to the emitter as text, in pieces of at most
// chunk_size lines (and about 1 MB); documents are parsed only in normalize. Returns false once
// the emitter asked to stop.
bool ReadJsonlFile(const fs::path& file, const ResourceSpec& spec, Emitter& emitter) {
  // Errors of the file itself (unreadable, truncated .gz) name the resource; the emitter's own
  // errors pass unchanged.
  auto guarded = [&](auto&& step) {
    try {
      return step();
    } catch (const Error& e) {
      if (e.kind() != ErrorKind::kIo) throw;
      Throw(ErrorKind::kSource, "cannot read jsonl file {} of resource {}: {}", file.string(),
            spec.name, e.message());
    }
  };
  auto reader =
      guarded([&] { return std::make_unique<io::LineChunkReader>(file, size_t{1} << 20); });
  for (;;) {
    std::string_view chunk = guarded([&] { return reader->Next(); });
    if (chunk.empty()) return true;
    JsonOrigin origin{file.string(), reader->first_line()};
    while (!chunk.empty()) {
      size_t cut = 0;
      size_t lines = 0;
      for (; lines < spec.chunk_size && cut < chunk.size(); ++lines) {
        size_t nl = chunk.find('\n', cut);
        cut = nl == std::string_view::npos ? chunk.size() : nl + 1;
      }
      if (!emitter.EmitJsonl(chunk.substr(0, cut), &origin)) return false;
      origin.first_line += static_cast<int64_t>(lines);
      chunk.remove_prefix(cut);
    }
  }
}

// Streams one file; returns false once the emitter asked to stop.
bool ReadFile(db::DuckConnection& con, const fs::path& file, FileFormat format,
              const ResourceSpec& spec, Emitter& emitter) {
  if (format == FileFormat::kJsonl) return ReadJsonlFile(file, spec, emitter);
  std::string literal = db::QuoteLiteral(file.string());
  std::string relation = format == FileFormat::kCsv
                             ? fmt::format("read_csv({}, {})", literal, CsvOptions(file))
                             : fmt::format("read_parquet({})", literal);
  Rechunker rechunker(spec.chunk_size, emitter);
  try {
    std::string select = con.ScanSelectList(relation);
    if (select.empty()) return true;
    // One DuckDB vector per callback: Rechunker cuts exact chunk_size batches from them.
    con.StreamBatches(fmt::format("SELECT {} FROM {}", select, relation), 1, [&](Batch& batch) {
      if (!rechunker.Add(batch)) throw StopStreaming{};
    });
  } catch (const StopStreaming&) {
    return false;
  } catch (const EmitterFailure& failure) {
    std::rethrow_exception(failure.error);
  } catch (const Error& e) {
    std::string detail = TrimDuckMessage(e.message());
    if (format == FileFormat::kCsv &&
        detail.find("Error when sniffing file") != std::string::npos) {
      detail += FirstBadCsvRow(con, file);
    }
    Throw(ErrorKind::kSource, "cannot read {} file {} of resource {}: {}", FormatName(format),
          file.string(), spec.name, detail);
  }
  try {
    return rechunker.Flush();
  } catch (const EmitterFailure& failure) {
    std::rethrow_exception(failure.error);
  }
}

void RunResource(const ResourceSpec& spec, Emitter& emitter) {
  std::vector<fs::path> files;
  try {
    files = ListFiles(spec.bucket_url, spec.file_glob);
  } catch (const Error& e) {
    throw Error(e.kind(), fmt::format("{} (resource {}, config key {})", e.message(), spec.name,
                                      BucketKey(spec.name)));
  }
  log::Debug("filesystem resource {}: {} file(s) match {} in {}", spec.name, files.size(),
             spec.file_glob, spec.bucket_url);
  if (files.empty()) return;
  // Decide every file's format before reading any, so a stray file fails the run up front.
  std::vector<FileFormat> formats;
  formats.reserve(files.size());
  for (const fs::path& file : files) {
    formats.push_back(spec.format ? *spec.format : FormatOfFile(file, spec.name));
  }
  auto database = db::DuckDatabase::Open(":memory:", db::DuckOptions{1, ""}, ErrorKind::kSource);
  db::DuckConnection con(database, ErrorKind::kSource);
  for (size_t i = 0; i < files.size(); ++i) {
    std::error_code ec;
    if (fs::file_size(files[i], ec) == 0 && !ec) {
      log::Debug("filesystem resource {}: skipping empty file {}", spec.name, files[i].string());
      continue;
    }
    log::Debug("filesystem resource {}: reading {}", spec.name, files[i].string());
    if (!ReadFile(con, files[i], formats[i], spec, emitter)) return;
  }
}

}  // namespace

std::vector<fs::path> ListFiles(const std::string& bucket_url, const std::string& file_glob) {
  fs::path root = LocalFolder(bucket_url);
  std::error_code ec;
  fs::file_status status = fs::status(root, ec);
  if (!fs::exists(status)) {
    Throw(ErrorKind::kSource, "bucket_url folder {} does not exist", root.string());
  }
  if (!fs::is_directory(status)) {
    Throw(ErrorKind::kSource, "bucket_url {} is not a folder", root.string());
  }
  std::string_view glob = file_glob;
  while (glob.rfind("./", 0) == 0) glob.remove_prefix(2);
  while (!glob.empty() && glob.front() == '/') glob.remove_prefix(1);
  if (glob.empty()) glob = "*";
  // Without `**` no match can lie deeper than the glob's own folder levels.
  bool recursive = glob.find("**") != std::string_view::npos;
  int max_depth = static_cast<int>(std::count(glob.begin(), glob.end(), '/'));

  std::vector<fs::path> files;
  fs::recursive_directory_iterator it(root, fs::directory_options::skip_permission_denied, ec);
  if (ec) {
    Throw(ErrorKind::kSource, "cannot list bucket_url folder {}: {}", root.string(), ec.message());
  }
  for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) {
      Throw(ErrorKind::kSource, "cannot list bucket_url folder {}: {}", root.string(),
            ec.message());
    }
    const fs::directory_entry& entry = *it;
    std::error_code type_ec;
    if (entry.is_directory(type_ec)) {
      if (!recursive && it.depth() >= max_depth) it.disable_recursion_pending();
      continue;
    }
    if (!entry.is_regular_file(type_ec)) continue;
    std::string relative = entry.path().lexically_relative(root).generic_string();
    if (GlobMatch(glob, relative)) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

Resource MakeFilesystemResource(std::string name, std::string bucket_url, std::string file_glob,
                                std::optional<std::string> format, int64_t chunk_size) {
  if (chunk_size < 1) {
    Throw(ErrorKind::kConfig, "chunk_size of filesystem resource {} must be at least 1, got {}",
          name, chunk_size);
  }
  if (bucket_url.empty()) {
    Throw(ErrorKind::kConfig, "bucket_url of filesystem resource {} is empty ({})", name,
          BucketKey(name));
  }
  try {
    LocalFolder(bucket_url);  // an unsupported URL fails now, not when the run reaches it
  } catch (const Error& e) {
    throw Error(e.kind(),
                fmt::format("{} (resource {}, config key {})", e.message(), name, BucketKey(name)));
  }
  auto spec = std::make_shared<ResourceSpec>();
  if (format) spec->format = ParseFormat(*format, "filesystem resource " + name);
  spec->name = name;
  spec->bucket_url = std::move(bucket_url);
  spec->file_glob = file_glob.empty() ? "*" : std::move(file_glob);
  spec->chunk_size = static_cast<size_t>(chunk_size);
  Resource resource(std::move(name), [spec](Emitter& emitter) { RunResource(*spec, emitter); });
  // Each resource reads with its own single-thread DuckDB, so resources can run side by side.
  resource.parallelized();
  return resource;
}

Source MakeFilesystemSource(const config::Config& config) {
  const std::string source(kSourceName);
  Source out{source, {}};
  for (const std::string& name : config.Subsections({"sources", source})) {
    if (std::find(std::begin(kReservedSections), std::end(kReservedSections), name) !=
        std::end(kReservedSections)) {
      continue;
    }
    const std::vector<std::string> sections = {"sources", source, name};
    std::optional<std::string> bucket_url = config.GetString(sections, "bucket_url");
    if (!bucket_url) {
      config.ThrowMissing(sections, "bucket_url", "a local folder path or file:// URL");
    }
    std::string file_glob = config.GetString(sections, "file_glob").value_or("*");
    std::optional<std::string> format;
    if (std::optional<config::ConfigValue> found = config.Find(sections, "format")) {
      format = config.GetString(sections, "format");
      std::string where =
          found->origin.provider == "environment variable"
              ? fmt::format("environment variable {}", found->origin.key)
              : fmt::format("config key {} in {}", found->origin.key, found->origin.provider);
      ParseFormat(*format, where);
    }
    int64_t chunk_size =
        config.GetIntInRange(sections, "chunk_size", 1, std::numeric_limits<int32_t>::max())
            .value_or(kDefaultChunkSize);
    std::optional<int64_t> add_limit =
        config.GetIntInRange(sections, "add_limit", 0, std::numeric_limits<int64_t>::max());

    Resource resource = MakeFilesystemResource(name, std::move(*bucket_url), std::move(file_glob),
                                               std::move(format), chunk_size);
    if (add_limit) resource.add_limit(*add_limit);
    ApplyResourceHints(resource, config, source);
    out.resources.push_back(std::move(resource));
  }
  if (out.resources.empty()) {
    Throw(ErrorKind::kConfig,
          "the filesystem source has no tables: add a [sources.filesystem.<table>] section with "
          "bucket_url and file_glob, e.g. [sources.filesystem.orders] bucket_url = \"data/orders\" "
          "file_glob = \"*.csv\"");
  }
  return out;
}

}  // namespace cdlt::sources::filesystem
