#include "config/config.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <list>
#include <set>
#include <sstream>
#include <system_error>
#include <utility>

#include "common/error.hpp"
#include "config/value_parse.hpp"

extern char** environ;  // NOLINT: POSIX, declared by no standard header

namespace cdlt::config {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr std::string_view kEnvProvider = "environment variable";
constexpr std::string_view kSecretFileProvider = "secret file";
constexpr std::string_view kSecretsToml = "secrets.toml";
constexpr std::string_view kConfigToml = "config.toml";
constexpr size_t kMaxValueChars = 80;

// Key paths containing these words never have their value printed.
constexpr std::array<std::string_view, 6> kSensitiveWords = {
    "password", "secret", "token", "credentials", "api_key", "private_key"};

std::string Join(const std::vector<std::string>& parts, std::string_view sep, size_t begin = 0,
                 size_t end = std::string::npos) {
  std::string out;
  end = std::min(end, parts.size());
  for (size_t i = begin; i < end; ++i) {
    if (i > begin) out += sep;
    out += parts[i];
  }
  return out;
}

std::vector<std::string> Split(std::string_view text, std::string_view sep) {
  std::vector<std::string> out;
  while (true) {
    size_t pos = text.find(sep);
    out.emplace_back(text.substr(0, pos));
    if (pos == std::string_view::npos) break;
    text.remove_prefix(pos + sep.size());
  }
  return out;
}

std::string EnvName(const std::vector<std::string>& path, size_t end = std::string::npos) {
  return detail::ToUpper(Join(path, "__", 0, end));
}

bool IsSensitive(std::string_view text) {
  std::string lower = detail::ToLower(text);
  for (std::string_view word : kSensitiveWords) {
    if (lower.find(word) != std::string::npos) return true;
  }
  return false;
}

std::string DescribeOrigin(const ValueOrigin& origin) {
  if (origin.provider == kEnvProvider || origin.provider == kSecretFileProvider) {
    return fmt::format("{} {}", origin.provider, origin.key);
  }
  return fmt::format("in {}", origin.provider);
}

std::string RenderValue(const json& value) {
  std::string text = value.dump(-1, ' ', false, json::error_handler_t::replace);
  if (text.size() > kMaxValueChars) text = text.substr(0, kMaxValueChars - 3) + "...";
  return text;
}

[[noreturn]] void ThrowWrongShape(const ConfigValue& found, const std::string& path,
                                  std::string_view expected, bool always_redact) {
  bool redact = always_redact || IsSensitive(path) || IsSensitive(found.origin.key);
  Throw(ErrorKind::kConfig, "config key {} = {} ({}): expected {}", path,
        redact ? std::string("***") : RenderValue(found.value), DescribeOrigin(found.origin),
        expected);
}

// Descends through objects only; nullptr when the path is not there.
const json* Descend(const json& root, const std::vector<std::string>& path, size_t begin,
                    size_t end) {
  const json* node = &root;
  for (size_t i = begin; i < end; ++i) {
    if (!node->is_object()) return nullptr;
    auto it = node->find(path[i]);
    if (it == node->end()) return nullptr;
    node = &*it;
  }
  return node;
}

// Merges `over` into `base`, `over` winning key by key; tables are merged recursively.
void DeepMerge(json& base, const json& over) {
  for (auto it = over.begin(); it != over.end(); ++it) {
    auto existing = base.find(it.key());
    if (existing != base.end() && existing->is_object() && it->is_object()) {
      DeepMerge(*existing, *it);
    } else {
      base[it.key()] = *it;
    }
  }
}

std::map<std::string, std::string> ReadProcessEnvironment() {
  std::map<std::string, std::string> env;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    std::string_view text(*entry);
    size_t eq = text.find('=');
    if (eq == std::string_view::npos || eq == 0) continue;
    env.emplace(std::string(text.substr(0, eq)), std::string(text.substr(eq + 1)));
  }
  return env;
}

std::optional<std::string> ReadFileText(const fs::path& path) {
  std::error_code ec;
  fs::file_status status = fs::status(path, ec);
  if (ec || !fs::exists(status)) return std::nullopt;
  if (fs::is_directory(status)) {
    Throw(ErrorKind::kConfig, "cannot read config file {}: it is a directory", path.string());
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    Throw(ErrorKind::kConfig, "cannot read config file {}: {}", path.string(),
          std::strerror(errno));
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::optional<std::string> ScalarToString(const json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_number() || value.is_boolean()) return value.dump();
  return std::nullopt;
}

std::optional<int64_t> AsInt(const json& value) {
  if (value.is_number_unsigned()) {
    auto u = value.get<uint64_t>();
    if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return std::nullopt;
    return static_cast<int64_t>(u);
  }
  if (value.is_number_integer()) return value.get<int64_t>();
  if (value.is_number_float()) {
    double d = value.get<double>();
    // 2^63 is exactly representable; anything >= it overflows int64.
    if (std::isfinite(d) && std::trunc(d) == d && d >= -9223372036854775808.0 &&
        d < 9223372036854775808.0) {
      return static_cast<int64_t>(d);
    }
    return std::nullopt;
  }
  if (value.is_string()) return detail::ParseInt(value.get_ref<const std::string&>());
  return std::nullopt;
}

std::optional<bool> AsBool(const json& value) {
  if (value.is_boolean()) return value.get<bool>();
  if (value.is_number_integer()) {
    auto i = value.get<int64_t>();
    if (i == 0 || i == 1) return i == 1;
    return std::nullopt;
  }
  if (value.is_string()) return detail::ParseBool(value.get_ref<const std::string&>());
  return std::nullopt;
}

std::optional<double> AsDouble(const json& value) {
  if (value.is_number()) return value.get<double>();
  if (value.is_string()) return detail::ParseDouble(value.get_ref<const std::string&>());
  return std::nullopt;
}

std::optional<std::vector<std::string>> AsStringList(const json& value, bool from_env) {
  json array;
  if (value.is_array()) {
    array = value;
  } else if (value.is_string()) {
    const auto& text = value.get_ref<const std::string&>();
    std::string_view trimmed = detail::Trim(text);
    if (!trimmed.empty() && trimmed.front() == '[') {
      std::optional<json> parsed = detail::ParseArrayText(trimmed);
      if (!parsed) return std::nullopt;
      array = std::move(*parsed);
    } else if (from_env) {
      return detail::SplitCommaList(text);
    } else {
      return std::vector<std::string>{text};
    }
  } else if (value.is_number() || value.is_boolean()) {
    return std::vector<std::string>{value.dump()};
  } else {
    return std::nullopt;
  }
  std::vector<std::string> out;
  out.reserve(array.size());
  for (const json& item : array) {
    std::optional<std::string> s = ScalarToString(item);
    if (!s) return std::nullopt;
    out.push_back(std::move(*s));
  }
  return out;
}

std::optional<json> AsObject(const json& value) {
  if (value.is_object()) return value;
  if (value.is_string()) return detail::ParseObjectText(value.get_ref<const std::string&>());
  return std::nullopt;
}

}  // namespace

Config::Config(std::map<std::string, std::string> environment) : env_(std::move(environment)) {
  for (const auto& [name, value] : env_) {
    if (name.find("__") == std::string::npos) continue;
    env_paths_.push_back(Split(name, "__"));
  }
}

Config Config::Load(const ProviderOptions& options) {
  Config config(options.environment ? *options.environment : ReadProcessEnvironment());
  if (options.secret_storage_dir) {
    config.secret_storage_dir_ = options.secret_storage_dir;
  } else if (!options.environment) {
    config.secret_storage_dir_ = fs::path("/run/secrets");
  }

  auto env_value = [&config](const std::string& name) -> std::string {
    auto it = config.env_.find(name);
    return it == config.env_.end() ? std::string() : it->second;
  };

  fs::path project_dir = options.project_dir;
  if (project_dir.empty()) project_dir = env_value("DLT_PROJECT_DIR");
  if (project_dir.empty()) project_dir = fs::current_path();
  project_dir = fs::absolute(project_dir).lexically_normal();
  std::string folder = env_value("DLT_CONFIG_FOLDER");
  if (folder.empty()) folder = ".dlt";
  fs::path settings_dir = (project_dir / folder).lexically_normal();

  std::optional<fs::path> global_dir = options.global_dir;
  if (!global_dir) {
    std::string home = env_value("HOME");
    if (!home.empty()) global_dir = fs::path(home) / ".dlt";
  }
  if (global_dir) {
    global_dir = fs::absolute(*global_dir).lexically_normal();
    std::error_code ec;
    // Running from $HOME makes the project folder the global one: read it once.
    if (*global_dir == settings_dir || fs::equivalent(*global_dir, settings_dir, ec)) {
      global_dir.reset();
    }
  }

  auto make_provider = [](std::string name, bool supports_secrets,
                          const std::vector<fs::path>& candidates) {
    TomlProvider provider;
    provider.name = std::move(name);
    provider.supports_secrets = supports_secrets;
    for (const fs::path& file : candidates) {
      std::string file_name = file.string();
      provider.candidate_files.push_back(file_name);
      std::optional<std::string> text = ReadFileText(file);
      if (!text) continue;
      provider.files.push_back(file_name);
      provider.layers.push_back(detail::ParseTomlDocument(*text, file_name));
    }
    // Lowest priority first, so each higher layer overrides key by key.
    for (auto it = provider.layers.rbegin(); it != provider.layers.rend(); ++it) {
      DeepMerge(provider.merged, *it);
    }
    return provider;
  };

  auto settings_files = [&](std::string_view file_name) {
    std::vector<fs::path> files{settings_dir / file_name};
    if (global_dir) files.push_back(*global_dir / file_name);
    return files;
  };

  config.toml_providers_.push_back(
      make_provider(std::string(kSecretsToml), true, settings_files(kSecretsToml)));
  for (const fs::path& extra : options.extra_files) {
    fs::path file = fs::absolute(extra).lexically_normal();
    config.toml_providers_.push_back(make_provider(file.string(), true, {file}));
  }
  // dlt: config.toml must not hold secrets, so secret lookups skip it.
  config.toml_providers_.push_back(
      make_provider(std::string(kConfigToml), false, settings_files(kConfigToml)));
  return config;
}

void Config::SetPipelineName(std::string name) { pipeline_name_ = std::move(name); }

std::vector<Config::Candidate> Config::CandidatePaths(const std::vector<std::string>& sections,
                                                      std::string_view key,
                                                      bool with_prefix) const {
  std::vector<std::string> key_parts = Split(key, ".");
  std::vector<Candidate> out;
  out.reserve(sections.size() + 1);
  for (size_t n = sections.size() + 1; n-- > 0;) {
    Candidate candidate;
    if (with_prefix) candidate.path.push_back(pipeline_name_);
    candidate.path.insert(candidate.path.end(), sections.begin(), sections.begin() + n);
    candidate.key_start = candidate.path.size();
    candidate.path.insert(candidate.path.end(), key_parts.begin(), key_parts.end());
    out.push_back(std::move(candidate));
  }
  return out;
}

std::optional<Config::Found> Config::FindInEnv(const std::vector<std::string>& path,
                                               size_t key_start, Purpose purpose) const {
  std::string name = EnvName(path);
  std::string dotted = Join(path, ".");
  if (purpose == Purpose::kSecret && secret_storage_dir_) {
    // Docker/kubernetes secret files: RFC 1123 names, so lower case and dashes.
    std::string file_name = detail::ToLower(name);
    for (char& c : file_name) {
      if (c == '_') c = '-';
    }
    fs::path file = *secret_storage_dir_ / file_name;
    std::error_code ec;
    if (fs::is_directory(file, ec)) file /= file_name;
    if (fs::is_regular_file(file, ec)) {
      std::ifstream in(file, std::ios::binary);
      std::ostringstream buffer;
      buffer << in.rdbuf();
      std::string text = buffer.str();
      // A trailing newline from `echo secret > file` is never part of the secret.
      while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
      return Found{{json(std::move(text)), {std::string(kSecretFileProvider), file.string()}},
                   dotted};
    }
  }
  if (auto it = env_.find(name); it != env_.end()) {
    return Found{{json(it->second), {std::string(kEnvProvider), name}}, dotted};
  }
  // A dotted key may sit inside a whole value given at a key level, e.g.
  // DESTINATION__DUCKDB__CREDENTIALS='{"database": "x"}' holds credentials.database.
  for (size_t end = path.size() - 1; end > key_start; --end) {
    auto it = env_.find(EnvName(path, end));
    if (it == env_.end()) continue;
    std::optional<json> object = detail::ParseObjectText(it->second);
    if (!object) continue;
    if (const json* node = Descend(*object, path, end, path.size())) {
      return Found{{*node, {std::string(kEnvProvider), it->first}}, dotted};
    }
  }
  return std::nullopt;
}

std::optional<Config::Found> Config::FindInToml(const TomlProvider& provider,
                                                const std::vector<std::string>& path,
                                                size_t key_start) const {
  const json* node = &provider.merged;
  std::list<json> parsed_blobs;  // stable addresses for values parsed out of strings
  size_t real_depth = 0;         // components matched in the TOML itself, not inside a blob
  bool in_blob = false;
  for (size_t i = 0; i < path.size(); ++i) {
    if (!node->is_object()) {
      // Only at a key level (e.g. `credentials = '{"database": "x"}'`), as for env vars.
      if (i <= key_start || !node->is_string()) return std::nullopt;
      std::optional<json> object = detail::ParseObjectText(node->get_ref<const std::string&>());
      if (!object) return std::nullopt;
      parsed_blobs.push_back(std::move(*object));
      node = &parsed_blobs.back();
      in_blob = true;
    }
    auto it = node->find(path[i]);
    if (it == node->end()) return std::nullopt;
    node = &*it;
    if (!in_blob) real_depth = i + 1;
  }
  // The file that contributed the node: the highest-priority layer holding that path.
  std::string file = provider.files.empty() ? provider.name : provider.files.front();
  for (size_t l = 0; l < provider.layers.size(); ++l) {
    if (Descend(provider.layers[l], path, 0, real_depth) != nullptr) {
      file = provider.files[l];
      break;
    }
  }
  std::string dotted = Join(path, ".");
  return Found{{*node, {file, dotted}}, dotted};
}

std::optional<Config::Found> Config::FindImpl(const std::vector<std::string>& sections,
                                              std::string_view key, Purpose purpose) const {
  for (bool with_prefix : {true, false}) {
    if (with_prefix && pipeline_name_.empty()) continue;
    std::vector<Candidate> candidates = CandidatePaths(sections, key, with_prefix);
    for (const Candidate& c : candidates) {
      if (auto found = FindInEnv(c.path, c.key_start, purpose)) return found;
    }
    for (const TomlProvider& provider : toml_providers_) {
      if (purpose == Purpose::kSecret && !provider.supports_secrets) continue;
      if (provider.files.empty()) continue;
      for (const Candidate& c : candidates) {
        if (auto found = FindInToml(provider, c.path, c.key_start)) return found;
      }
    }
  }
  return std::nullopt;
}

std::optional<ConfigValue> Config::Find(const std::vector<std::string>& sections,
                                        std::string_view key) const {
  std::optional<Found> found = FindImpl(sections, key, Purpose::kAny);
  if (!found) return std::nullopt;
  return std::move(found->value);
}

std::optional<std::string> Config::GetString(const std::vector<std::string>& sections,
                                             std::string_view key) const {
  std::optional<Found> found = FindImpl(sections, key, Purpose::kAny);
  if (!found) return std::nullopt;
  std::optional<std::string> value = ScalarToString(found->value.value);
  if (!value) ThrowWrongShape(found->value, found->path, "a string", false);
  return value;
}

std::optional<int64_t> Config::GetInt(const std::vector<std::string>& sections,
                                      std::string_view key) const {
  std::optional<Found> found = FindImpl(sections, key, Purpose::kAny);
  if (!found) return std::nullopt;
  std::optional<int64_t> value = AsInt(found->value.value);
  if (!value) ThrowWrongShape(found->value, found->path, "an integer", false);
  return value;
}

std::optional<bool> Config::GetBool(const std::vector<std::string>& sections,
                                    std::string_view key) const {
  std::optional<Found> found = FindImpl(sections, key, Purpose::kAny);
  if (!found) return std::nullopt;
  std::optional<bool> value = AsBool(found->value.value);
  if (!value) {
    ThrowWrongShape(found->value, found->path, "a boolean (true/false/1/0/yes/no)", false);
  }
  return value;
}

std::optional<double> Config::GetDouble(const std::vector<std::string>& sections,
                                        std::string_view key) const {
  std::optional<Found> found = FindImpl(sections, key, Purpose::kAny);
  if (!found) return std::nullopt;
  std::optional<double> value = AsDouble(found->value.value);
  if (!value) ThrowWrongShape(found->value, found->path, "a number", false);
  return value;
}

std::optional<std::vector<std::string>> Config::GetStringList(
    const std::vector<std::string>& sections, std::string_view key) const {
  std::optional<Found> found = FindImpl(sections, key, Purpose::kAny);
  if (!found) return std::nullopt;
  bool from_env = found->value.origin.provider == kEnvProvider;
  std::optional<std::vector<std::string>> value = AsStringList(found->value.value, from_env);
  if (!value) ThrowWrongShape(found->value, found->path, "a list of strings", false);
  return value;
}

std::optional<nlohmann::json> Config::GetObject(const std::vector<std::string>& sections,
                                                std::string_view key) const {
  std::optional<Found> found = FindImpl(sections, key, Purpose::kAny);
  if (!found) return std::nullopt;
  std::optional<json> value = AsObject(found->value.value);
  if (!value) {
    ThrowWrongShape(found->value, found->path,
                    "an object (a TOML table, JSON object text or TOML inline table text)", false);
  }
  return value;
}

std::optional<Secret<std::string>> Config::GetSecret(const std::vector<std::string>& sections,
                                                     std::string_view key) const {
  std::optional<Found> found = FindImpl(sections, key, Purpose::kSecret);
  if (!found) {
    // Only config.toml was skipped; say so rather than pretend the value is missing.
    if (std::optional<Found> in_config = FindImpl(sections, key, Purpose::kAny)) {
      Throw(ErrorKind::kConfig,
            "config key {} is a secret but was found in {}, which must not hold secrets: move it "
            "to secrets.toml or an environment variable ({})",
            in_config->path, in_config->value.origin.provider,
            EnvName(Split(in_config->path, ".")));
    }
    return std::nullopt;
  }
  std::optional<std::string> value = ScalarToString(found->value.value);
  if (!value) ThrowWrongShape(found->value, found->path, "a string (secret)", true);
  return Secret<std::string>(std::move(*value));
}

std::optional<int64_t> Config::GetIntInRange(const std::vector<std::string>& sections,
                                             std::string_view key, int64_t min, int64_t max) const {
  std::optional<Found> found = FindImpl(sections, key, Purpose::kAny);
  if (!found) return std::nullopt;
  std::string expected = fmt::format("an integer between {} and {}", min, max);
  std::optional<int64_t> value = AsInt(found->value.value);
  if (!value || *value < min || *value > max) {
    ThrowWrongShape(found->value, found->path, expected, false);
  }
  return value;
}

void Config::ThrowMissing(const std::vector<std::string>& sections, std::string_view key,
                          std::string_view expected) const {
  std::vector<std::string> env_names;
  std::vector<std::string> toml_keys;
  for (bool with_prefix : {true, false}) {
    if (with_prefix && pipeline_name_.empty()) continue;
    for (const Candidate& c : CandidatePaths(sections, key, with_prefix)) {
      env_names.push_back(EnvName(c.path));
      toml_keys.push_back(Join(c.path, "."));
    }
  }
  std::vector<std::string> files;
  for (const TomlProvider& provider : toml_providers_) {
    for (const std::string& file : provider.candidate_files) {
      bool read =
          std::find(provider.files.begin(), provider.files.end(), file) != provider.files.end();
      files.push_back(read ? file : file + " (not found)");
    }
  }
  std::vector<std::string> full = sections;
  full.emplace_back(key);
  std::string looked = fmt::format("environment variables {}", Join(env_names, ", "));
  if (!files.empty()) {
    looked += fmt::format("; TOML keys {} in {}", Join(toml_keys, ", "), Join(files, ", "));
  }
  Throw(ErrorKind::kConfig, "missing config value {}: looked for {}; expected {}", Join(full, "."),
        looked, expected);
}

std::vector<std::string> Config::Subsections(const std::vector<std::string>& section) const {
  std::set<std::string> names;
  auto collect = [&](const std::vector<std::string>& base) {
    for (const TomlProvider& provider : toml_providers_) {
      const json* node = Descend(provider.merged, base, 0, base.size());
      if (node == nullptr || !node->is_object()) continue;
      for (auto it = node->begin(); it != node->end(); ++it) {
        if (it->is_object()) names.insert(it.key());
      }
    }
    std::vector<std::string> upper;
    upper.reserve(base.size());
    for (const std::string& part : base) upper.push_back(detail::ToUpper(part));
    for (const std::vector<std::string>& env_path : env_paths_) {
      // The name must be followed by at least one more component to be a section.
      if (env_path.size() < upper.size() + 2) continue;
      if (!std::equal(upper.begin(), upper.end(), env_path.begin())) continue;
      const std::string& name = env_path[upper.size()];
      if (!name.empty()) names.insert(detail::ToLower(name));
    }
  };
  collect(section);
  if (!pipeline_name_.empty()) {
    std::vector<std::string> prefixed{pipeline_name_};
    prefixed.insert(prefixed.end(), section.begin(), section.end());
    collect(prefixed);
  }
  return {names.begin(), names.end()};
}

std::vector<std::string> Config::Files() const {
  std::vector<std::string> out;
  for (const TomlProvider& provider : toml_providers_) {
    out.insert(out.end(), provider.files.begin(), provider.files.end());
  }
  return out;
}

}  // namespace cdlt::config
