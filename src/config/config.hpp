#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/secret.hpp"

namespace cdlt::config {

/// Where a value was found, for messages: provider is e.g. "environment variable" or a TOML file
/// path; key is the key as written there (e.g. "SOURCES__FILESYSTEM__ORDERS__FILE_GLOB" or
/// "sources.filesystem.orders.file_glob").
struct ValueOrigin {
  std::string provider;
  std::string key;
};

/// A raw value: TOML values converted to JSON (TOML dates/times as ISO strings); env values are
/// JSON strings (or, when a dotted key was found inside an env var holding a JSON object / TOML
/// inline table, the JSON value found there).
struct ConfigValue {
  nlohmann::json value;
  ValueOrigin origin;
};

struct ProviderOptions {
  /// Project folder; empty = $DLT_PROJECT_DIR if set, else the current directory. Settings folder
  /// inside it is $DLT_CONFIG_FOLDER or ".dlt" (holds config.toml, secrets.toml; either may be
  /// absent).
  std::filesystem::path project_dir;
  /// Global settings folder merged *under* the project files; nullopt = "$HOME/.dlt" when HOME is
  /// set.
  std::optional<std::filesystem::path> global_dir;
  /// Pipeline files given to `cdlt run FILE`: read as more config files with priority between
  /// secrets.toml and config.toml (first in the list wins among them).
  std::vector<std::filesystem::path> extra_files;
  /// Environment to read; nullopt = the real process environment (`environ`). Tests pass a map.
  std::optional<std::map<std::string, std::string>> environment;
  /// Folder of secret files (docker/kubernetes secrets) consulted by GetSecret before each env
  /// var: `<dir>/<env name lower-cased, '_' → '-'>` (or that name inside a folder of that name).
  /// nullopt = "/run/secrets" when the real environment is read, none when `environment` is given.
  std::optional<std::filesystem::path> secret_storage_dir;
};

/// dlt-compatible configuration: environment variables, secrets.toml, pipeline files and
/// config.toml, looked up by sections and key. Immutable after Load() apart from the pipeline
/// name, so const lookups may run concurrently.
class Config {
 public:
  /// Reads all providers. Bad TOML → cdlt::Error(kConfig) naming the file, line and column and
  /// toml++'s reason.
  static Config Load(const ProviderOptions& options);
  /// Empty config (no providers).
  Config() = default;
  /// Config with only the given env map (handy in tests).
  explicit Config(std::map<std::string, std::string> environment);

  /// Pipeline name prefix tried first (dlt: lookup(pipeline_name) then lookup(None)).
  void SetPipelineName(std::string name);
  const std::string& pipeline_name() const { return pipeline_name_; }

  /// dlt lookup (§2.3): `sections` are droppable from the right, `key` may be dotted
  /// ("credentials.password") and is never dropped. Order: with pipeline prefix first (if set),
  /// then without; within that, providers in priority order (env > secrets.toml > extra_files >
  /// config.toml) as the outer loop, candidate paths most → least specific as the inner loop.
  std::optional<ConfigValue> Find(const std::vector<std::string>& sections,
                                  std::string_view key) const;

  /// Typed getters: nullopt when absent everywhere. A present value of the wrong shape throws
  /// cdlt::Error(kConfig) naming the key as found, where it was found and what was expected.
  std::optional<std::string> GetString(const std::vector<std::string>& sections,
                                       std::string_view key) const;
  std::optional<int64_t> GetInt(const std::vector<std::string>& sections,
                                std::string_view key) const;
  std::optional<bool> GetBool(const std::vector<std::string>& sections, std::string_view key) const;
  std::optional<double> GetDouble(const std::vector<std::string>& sections,
                                  std::string_view key) const;
  /// A single string → one-element list (env strings: JSON array text or comma-separated).
  std::optional<std::vector<std::string>> GetStringList(const std::vector<std::string>& sections,
                                                        std::string_view key) const;
  std::optional<nlohmann::json> GetObject(const std::vector<std::string>& sections,
                                          std::string_view key) const;
  /// Like GetString but never prints the value; skips config.toml (dlt: config.toml holds no
  /// secrets) and throws if the value is only found there.
  std::optional<Secret<std::string>> GetSecret(const std::vector<std::string>& sections,
                                               std::string_view key) const;
  /// Int with bounds check (inclusive): the error message says the allowed range.
  std::optional<int64_t> GetIntInRange(const std::vector<std::string>& sections,
                                       std::string_view key, int64_t min, int64_t max) const;

  /// Throws cdlt::Error(kConfig) listing every env var name and TOML key tried, with the files.
  [[noreturn]] void ThrowMissing(const std::vector<std::string>& sections, std::string_view key,
                                 std::string_view expected) const;

  /// Names of sub-tables directly under `section`, merged over every provider (including names
  /// implied by env vars, lower-cased, and names under the pipeline-name prefix). Sorted, unique.
  std::vector<std::string> Subsections(const std::vector<std::string>& section) const;

  /// Every file that was read, in priority order.
  std::vector<std::string> Files() const;

 private:
  /// One merged provider of TOML files (project over global, or a single pipeline file).
  struct TomlProvider {
    std::string name;  // "secrets.toml", "config.toml" or the pipeline file path
    bool supports_secrets = true;
    std::vector<std::string> candidate_files;  // priority order, read or not
    std::vector<std::string> files;            // the ones read, priority order
    std::vector<nlohmann::json> layers;        // parallel to `files`
    nlohmann::json merged = nlohmann::json::object();
  };
  struct Found {
    ConfigValue value;
    std::string path;  // dotted path as requested, with the pipeline prefix if used
  };
  struct Candidate {
    std::vector<std::string> path;
    size_t key_start;  // index of the first key component in `path`
  };
  enum class Purpose { kAny, kSecret };

  std::optional<Found> FindImpl(const std::vector<std::string>& sections, std::string_view key,
                                Purpose purpose) const;
  std::optional<Found> FindInEnv(const std::vector<std::string>& path, size_t key_start,
                                 Purpose purpose) const;
  std::optional<Found> FindInToml(const TomlProvider& provider,
                                  const std::vector<std::string>& path, size_t key_start) const;
  std::vector<Candidate> CandidatePaths(const std::vector<std::string>& sections,
                                        std::string_view key, bool with_prefix) const;

  std::map<std::string, std::string> env_;
  std::vector<std::vector<std::string>> env_paths_;  // env names split on "__" (2+ parts)
  std::optional<std::filesystem::path> secret_storage_dir_;
  std::vector<TomlProvider> toml_providers_;
  std::string pipeline_name_;
};

}  // namespace cdlt::config
