#include "pipeline/inspect.hpp"

#include <fmt/format.h>
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <ctime>
#include <nlohmann/json.hpp>
#include <set>

#include "cdlt/pipeline.hpp"
#include "common/error.hpp"
#include "common/text.hpp"
#include "io/file.hpp"
#include "package/load_package.hpp"
#include "schema/schema.hpp"

namespace cdlt::pipeline {

namespace fs = std::filesystem;
using nlohmann::ordered_json;
using package::JobState;
using package::LoadPackage;
using package::PackageStatus;
using package::PackageStorage;

namespace {

constexpr std::string_view kSchemaSuffix = ".schema.json";

std::optional<std::string> GetEnv(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return std::nullopt;
  return std::string(value);
}

std::optional<fs::path> HomeDir() {
  if (auto home = GetEnv("HOME")) return fs::path(*home);
  if (const passwd* pw = getpwuid(geteuid()); pw != nullptr && pw->pw_dir != nullptr) {
    return fs::path(pw->pw_dir);
  }
  return std::nullopt;
}

std::string Join(const std::vector<std::string>& items, std::string_view sep = ", ") {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += sep;
    out += items[i];
  }
  return out;
}

/// "2025-07-01 12:00:00 UTC" for unix seconds.
std::string FormatTime(double unix_seconds) {
  if (unix_seconds <= 0) return "unknown time";
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

std::string Plural(size_t n, std::string_view word) {
  return fmt::format("{} {}{}", n, word, n == 1 ? "" : "s");
}

/// Order load ids ("<secs>.<micros>") numerically without going through a double, which would
/// lose the microseconds.
bool LoadIdLess(const std::string& a, const std::string& b) {
  auto split = [](const std::string& id) {
    size_t dot = id.find('.');
    std::string secs = id.substr(0, dot);
    std::string frac = dot == std::string::npos ? "" : id.substr(dot + 1);
    secs.erase(0, std::min(secs.find_first_not_of('0'), secs.size()));
    return std::make_pair(secs, frac);
  };
  auto [sa, fa] = split(a);
  auto [sb, fb] = split(b);
  if (sa.size() != sb.size()) return sa.size() < sb.size();
  if (sa != sb) return sa < sb;
  size_t width = std::max(fa.size(), fb.size());
  fa.resize(width, '0');
  fb.resize(width, '0');
  if (fa != fb) return fa < fb;
  return a < b;
}

std::optional<ordered_json> ReadJsonFile(const fs::path& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return std::nullopt;
  std::string text = io::ReadFile(path);
  try {
    return ordered_json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    Throw(ErrorKind::kIo, "{} is not valid JSON: {}", path.string(), e.what());
  }
}

/// The schema files in `<working_dir>/schemas`, sorted by schema name.
std::vector<std::pair<std::string, fs::path>> SchemaFiles(const fs::path& working_dir) {
  std::vector<std::pair<std::string, fs::path>> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(working_dir / "schemas", ec)) {
    std::string file = entry.path().filename().string();
    if (!entry.is_regular_file() || !file.ends_with(kSchemaSuffix)) continue;
    out.emplace_back(file.substr(0, file.size() - kSchemaSuffix.size()), entry.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

/// Status of a package found by PackageStorage::Find, upper-cased as dlt prints it.
std::string StatusText(PackageStatus status) { return ToUpper(package::PackageStatusName(status)); }

/// Every package id of any state.
std::vector<std::string> AllPackageIds(const PackageStorage& storage) {
  std::set<std::string> ids;
  for (const auto& list :
       {storage.ListExtracted(), storage.ListNormalized(), storage.ListLoaded()}) {
    ids.insert(list.begin(), list.end());
  }
  std::vector<std::string> out(ids.begin(), ids.end());
  std::sort(out.begin(), out.end(), LoadIdLess);
  return out;
}

std::optional<RunTrace> ReadTrace(const fs::path& working_dir) {
  std::error_code ec;
  fs::path path = working_dir / "trace.json";
  if (!fs::is_regular_file(path, ec)) return std::nullopt;
  return RunTrace::FromJson(io::ReadFile(path));
}

// State keys whose values are printed by `info`; every other value is only named, so nothing a
// source put into its state (cursors, tokens handed back by an API...) reaches the terminal.
const std::set<std::string, std::less<>> kShownStateKeys = {
    "pipeline_name",    "dataset_name",          "default_schema_name", "schema_names",
    "destination_name", "destination_type",      "staging_name",        "staging_type",
    "_state_version",   "_state_engine_version", "first_run",           "_last_extracted_at",
    "initial_cwd",      "_version_hash",         "_last_extracted_hash"};

std::string ShownValue(const std::string& key, const ordered_json& value) {
  if (kShownStateKeys.contains(key)) {
    if (value.is_string()) return value.get<std::string>();
    if (value.is_array()) {
      std::vector<std::string> items;
      for (const auto& item : value)
        items.push_back(item.is_string() ? item.get<std::string>() : item.dump());
      return Join(items);
    }
    if (!value.is_object()) return value.dump();
  }
  if (value.is_object()) return fmt::format("{{{}}}", Plural(value.size(), "key"));
  if (value.is_array()) return fmt::format("[{}]", Plural(value.size(), "item"));
  return "(set)";
}

void AppendState(std::string& out, const fs::path& working_dir, bool verbose) {
  auto state = ReadJsonFile(working_dir / "state.json");
  if (!state) {
    out += "Local state: none (state.json not found)\n";
    return;
  }
  if (!state->is_object()) {
    out += "Local state: state.json does not hold an object\n";
    return;
  }
  out += "Local state:\n";
  for (const auto& [key, value] : state->items()) {
    if (key == "sources" && value.is_object()) {
      out += value.empty() ? "  sources: none\n" : "  sources:\n";
      for (const auto& [source, source_state] : value.items()) {
        out += fmt::format("    {}", source);
        if (source_state.is_object()) {
          std::vector<std::string> keys;
          for (const auto& [k, v] : source_state.items()) keys.push_back(k);
          if (verbose && !keys.empty()) out += fmt::format(" (keys: {})", Join(keys));
          if (source_state.contains("resources") && source_state["resources"].is_object()) {
            std::vector<std::string> resources;
            for (const auto& [r, v] : source_state["resources"].items()) resources.push_back(r);
            out += fmt::format(" - resources with state: {}", Join(resources));
          }
        }
        out += "\n";
      }
      continue;
    }
    if (key == "_local" && value.is_object()) {
      out += "  _local:\n";
      for (const auto& [k, v] : value.items()) {
        out += fmt::format("    {}: {}\n", k, ShownValue(k, v));
      }
      continue;
    }
    out += fmt::format("  {}: {}\n", key, ShownValue(key, value));
  }
}

void AppendSchemas(std::string& out, const fs::path& working_dir, bool verbose) {
  auto files = SchemaFiles(working_dir);
  if (files.empty()) {
    out += "Schemas: none\n";
    return;
  }
  out += "Schemas:\n";
  for (const auto& [name, path] : files) {
    schema::Schema schema = schema::Schema::LoadFile(path);
    auto data_tables = schema.DataTables();
    out += fmt::format("  {} (version {}, {}):\n", schema.name(), schema.version(),
                       Plural(data_tables.size(), "data table"));
    for (const auto& table : schema.tables()) {
      bool dlt_table = table.name.starts_with(schema::kDltPrefix);
      if (dlt_table && !verbose) continue;
      size_t incomplete = std::count_if(table.columns.begin(), table.columns.end(),
                                        [](const schema::Column& c) { return !c.complete(); });
      std::string detail = Plural(table.columns.size(), "column");
      if (incomplete > 0) detail += fmt::format(", {} without data type", incomplete);
      if (table.parent) detail += fmt::format(", nested in {}", *table.parent);
      if (table.write_disposition) {
        detail += fmt::format(", {}", schema::WriteDispositionName(*table.write_disposition));
      }
      out += fmt::format("    {}: {}\n", table.name, detail);
    }
  }
}

void AppendTrace(std::string& out, const fs::path& working_dir) {
  std::optional<RunTrace> trace;
  try {
    trace = ReadTrace(working_dir);
  } catch (const Error& e) {
    // An unreadable trace must not hide the rest of `info`; `trace` reports it as an error.
    out += fmt::format("Last run: trace.json cannot be read: {}\n", e.what());
    return;
  }
  if (!trace) {
    out += "Last run: no trace (trace.json not found)\n";
    return;
  }
  out += fmt::format("Last run: started at {} and {} in {:.2f}s", FormatTime(trace->started_at),
                     trace->failed ? "FAILED" : "COMPLETED",
                     std::max(0.0, trace->finished_at - trace->started_at));
  for (const auto& step : trace->steps) {
    if (step.failed) {
      out += fmt::format(" (step {} failed)", step.step);
      break;
    }
  }
  out += "; see `cdlt pipeline <name> trace`\n";
  if (trace->failed && !trace->error.empty()) out += fmt::format("  error: {}\n", trace->error);
}

void AppendJob(std::string& out, const LoadPackage& pkg, JobState state, const std::string& file) {
  std::error_code ec;
  fs::path path = pkg.JobPath(state, file);
  auto size = fs::file_size(path, ec);
  std::string_view folder = package::JobFolder(state);
  std::string_view state_name = folder.substr(0, folder.find('_'));  // "failed_jobs" → "failed"
  out += fmt::format("  {:<9} {} (table {}, {} bytes)\n", state_name, file,
                     file.substr(0, file.find('.')), ec ? 0 : size);
  if (state == JobState::kFailed) {
    std::string message = pkg.FailedJobMessage(file);
    out += fmt::format("      error: {}\n", message.empty() ? "(no error stored)" : message);
  }
}

// ---- YAML ----------------------------------------------------------------------------------

bool IsPlainSafe(const std::string& s) {
  if (s.empty()) return false;
  static const std::set<std::string, std::less<>> kReserved = {
      "true", "false", "yes", "no",   "on",    "off",   "y",
      "n",    "null",  "~",   ".inf", "-.inf", "+.inf", ".nan"};
  std::string lower = ToLower(s);
  if (kReserved.contains(lower)) return false;
  // Anything that a YAML reader could take as a number (or date) stays a string only if quoted.
  if (std::isdigit(static_cast<unsigned char>(s[0])) ||
      ((s[0] == '-' || s[0] == '+' || s[0] == '.') && s.size() > 1 &&
       (std::isdigit(static_cast<unsigned char>(s[1])) || s[1] == '.'))) {
    return false;
  }
  if (std::string_view("-?:,[]{}#&*!|>'\"%@`= ").find(s[0]) != std::string_view::npos) {
    return false;
  }
  if (s.back() == ' ' || s.back() == ':') return false;
  if (s.find(": ") != std::string::npos || s.find(" #") != std::string::npos) return false;
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return false;
  }
  return true;
}

std::string YamlString(const std::string& s) {
  // JSON's escaping is valid inside a YAML double-quoted scalar.
  return IsPlainSafe(s) ? s : ordered_json(s).dump();
}

std::string YamlScalar(const ordered_json& value) {
  if (value.is_string()) return YamlString(value.get<std::string>());
  if (value.is_object()) return "{}";
  if (value.is_array()) return "[]";
  return value.dump();  // numbers, booleans, null
}

bool IsBlock(const ordered_json& value) {
  return (value.is_object() || value.is_array()) && !value.empty();
}

void EmitYaml(const ordered_json& value, size_t indent, std::string& out) {
  std::string pad(indent, ' ');
  if (value.is_object()) {
    for (const auto& [key, item] : value.items()) {
      out += pad + YamlString(key) + ":";
      if (IsBlock(item)) {
        out += "\n";
        EmitYaml(item, indent + 2, out);
      } else {
        out += " " + YamlScalar(item) + "\n";
      }
    }
    return;
  }
  for (const auto& item : value) {
    if (!IsBlock(item)) {
      out += pad + "- " + YamlScalar(item) + "\n";
      continue;
    }
    // Emit the block two columns deeper, then put the dash on its first line.
    std::string nested;
    EmitYaml(item, indent + 2, nested);
    out += pad + "- " + nested.substr(indent + 2);
  }
}

}  // namespace

std::string JsonToYaml(const ordered_json& value) {
  if (!IsBlock(value)) return YamlScalar(value) + "\n";
  std::string out;
  EmitYaml(value, 0, out);
  return out;
}

fs::path DefaultPipelinesDir() {
  if (auto data_dir = GetEnv("DLT_DATA_DIR")) return fs::path(*data_dir) / "pipelines";
  if (geteuid() == 0) return fs::path("/var/dlt/pipelines");
  auto home = HomeDir();
  std::error_code ec;
  if (!home || access(home->c_str(), W_OK) != 0) {
    return fs::temp_directory_path(ec) / "dlt" / "pipelines";
  }
  if (auto xdg = GetEnv("XDG_DATA_HOME"); xdg && !fs::exists(*home / ".dlt", ec)) {
    return fs::path(*xdg) / "dlt" / "pipelines";
  }
  return *home / ".dlt" / "pipelines";
}

std::vector<std::string> ListPipelines(const fs::path& pipelines_dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(pipelines_dir, ec)) {
    std::string name = entry.path().filename().string();
    if (entry.is_directory() && !name.starts_with(".")) out.push_back(std::move(name));
  }
  std::sort(out.begin(), out.end());
  return out;
}

fs::path PipelineDir(const fs::path& pipelines_dir, const std::string& name) {
  std::error_code ec;
  fs::path dir = pipelines_dir / name;
  if (name.empty() || name.find('/') != std::string::npos || name == "." || name == ".." ||
      !fs::is_directory(dir, ec)) {
    auto known = ListPipelines(pipelines_dir);
    Throw(ErrorKind::kConfig, "pipeline {} not found in {}; known pipelines: {}", name,
          pipelines_dir.string(), known.empty() ? "none" : Join(known));
  }
  return dir;
}

std::string PipelineInfo(const fs::path& pipelines_dir, const std::string& name, bool verbose) {
  fs::path dir = PipelineDir(pipelines_dir, name);
  PackageStorage storage(dir);
  std::string out = fmt::format("Pipeline {}\nWorking dir: {}\n", name, dir.string());
  AppendSchemas(out, dir, verbose);
  AppendState(out, dir, verbose);

  auto extracted = storage.ListExtracted();
  auto normalized = storage.ListNormalized();
  if (extracted.empty() && normalized.empty()) {
    out += "Pending packages: none\n";
  } else {
    out += fmt::format(
        "Pending packages: {} (finished by the next run; drop them with "
        "drop-pending-packages)\n",
        Plural(extracted.size() + normalized.size(), "package"));
    for (const auto& id : extracted) out += fmt::format("  {} extracted\n", id);
    for (const auto& id : normalized) out += fmt::format("  {} normalized\n", id);
  }

  auto loaded = storage.ListLoaded();
  size_t aborted = 0;
  for (const auto& id : loaded) {
    auto found = storage.Find(id);
    if (found && found->first == PackageStatus::kAborted) ++aborted;
  }
  out += fmt::format("Loaded packages: {}", loaded.size());
  if (aborted > 0) out += fmt::format(" ({} aborted)", aborted);
  if (!loaded.empty()) {
    std::sort(loaded.begin(), loaded.end(), LoadIdLess);
    out += fmt::format(", newest {}", loaded.back());
  }
  out += "\n";
  AppendTrace(out, dir);
  return out;
}

std::string PipelineTrace(const fs::path& pipelines_dir, const std::string& name) {
  fs::path dir = PipelineDir(pipelines_dir, name);
  auto trace = ReadTrace(dir);
  if (!trace) {
    return fmt::format("Pipeline {} has no run trace ({} not found): it has not run yet.\n", name,
                       (dir / "trace.json").string());
  }
  std::string text = trace->ToString();
  if (!text.ends_with('\n')) text += '\n';
  return text;
}

std::string LoadPackageInfo(const fs::path& pipelines_dir, const std::string& name,
                            const std::optional<std::string>& load_id) {
  fs::path dir = PipelineDir(pipelines_dir, name);
  PackageStorage storage(dir);
  auto ids = AllPackageIds(storage);
  std::string id;
  if (load_id) {
    id = *load_id;
  } else if (ids.empty()) {
    Throw(ErrorKind::kConfig, "pipeline {} has no load packages", name);
  } else {
    id = ids.back();
  }
  auto found = storage.Find(id);
  if (!found) {
    Throw(ErrorKind::kConfig, "load package {} not found in pipeline {}; packages: {}", id, name,
          ids.empty() ? "none" : Join(ids));
  }
  const auto& [status, pkg] = *found;
  std::string out = fmt::format("Load package {} of pipeline {} is {}\nFolder: {}\n", id, name,
                                StatusText(status), pkg.dir().string());
  std::error_code ec;
  if (fs::is_regular_file(pkg.SchemaPath(), ec)) {
    schema::Schema schema = schema::Schema::LoadFile(pkg.SchemaPath());
    out += fmt::format("Schema: {} (version {})\n", schema.name(), schema.version());
  }
  size_t count = 0, failed = 0;
  std::string jobs;
  for (JobState state :
       {JobState::kNew, JobState::kStarted, JobState::kCompleted, JobState::kFailed}) {
    for (const auto& file : pkg.ListJobs(state)) {
      AppendJob(jobs, pkg, state, file);
      ++count;
      if (state == JobState::kFailed) ++failed;
    }
  }
  out += fmt::format("Jobs: {}", count);
  if (failed > 0) out += fmt::format(" ({} failed)", failed);
  out += "\n" + jobs;
  return out;
}

std::string FailedJobs(const fs::path& pipelines_dir, const std::string& name) {
  fs::path dir = PipelineDir(pipelines_dir, name);
  PackageStorage storage(dir);
  auto loaded = storage.ListLoaded();
  std::sort(loaded.begin(), loaded.end(), LoadIdLess);
  std::string out;
  size_t failed = 0, packages = 0;
  for (const auto& id : loaded) {
    LoadPackage pkg = storage.Loaded(id);
    auto files = pkg.ListJobs(JobState::kFailed);
    if (files.empty()) continue;
    ++packages;
    out += fmt::format("Load package {}:\n", id);
    for (const auto& file : files) {
      ++failed;
      std::string message = pkg.FailedJobMessage(file);
      out += fmt::format(
          "  {}\n    table: {}\n    error: {}\n", pkg.JobPath(JobState::kFailed, file).string(),
          file.substr(0, file.find('.')), message.empty() ? "(no error stored)" : message);
    }
  }
  if (failed == 0)
    return fmt::format("no failed jobs in the loaded packages of pipeline {}\n", name);
  out += fmt::format("{} in {}\n", Plural(failed, "failed job"), Plural(packages, "package"));
  return out;
}

std::vector<std::string> DropPendingPackages(const fs::path& pipelines_dir,
                                             const std::string& name) {
  return PackageStorage(PipelineDir(pipelines_dir, name)).DropPending();
}

std::string SchemaText(const fs::path& pipelines_dir, const std::string& name,
                       const std::string& format) {
  if (format != "json" && format != "yaml") {
    Throw(ErrorKind::kConfig, "schema format {} is not supported; allowed values are json, yaml",
          format);
  }
  fs::path dir = PipelineDir(pipelines_dir, name);
  auto files = SchemaFiles(dir);
  if (files.empty()) {
    Throw(ErrorKind::kConfig, "pipeline {} has no schemas in {}", name, (dir / "schemas").string());
  }
  std::optional<fs::path> path;
  if (files.size() == 1) path = files.front().second;
  std::vector<std::string> wanted = {name};
  if (auto state = ReadJsonFile(dir / "state.json"); state && state->is_object() &&
                                                     state->contains("default_schema_name") &&
                                                     (*state)["default_schema_name"].is_string()) {
    wanted.insert(wanted.begin(), (*state)["default_schema_name"].get<std::string>());
  }
  for (const auto& want : wanted) {
    for (const auto& [schema_name, file] : files) {
      if (!path && schema_name == want) path = file;
    }
  }
  if (!path) {
    std::vector<std::string> names;
    for (const auto& [schema_name, file] : files) names.push_back(schema_name);
    Throw(ErrorKind::kConfig, "pipeline {} has no default schema; schemas: {}", name, Join(names));
  }
  ordered_json json = schema::Schema::LoadFile(*path).ToJson();
  return format == "json" ? json.dump(2) + "\n" : JsonToYaml(json);
}

}  // namespace cdlt::pipeline
