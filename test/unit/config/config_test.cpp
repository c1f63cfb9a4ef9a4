#include "config/config.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

#include "common/error.hpp"

namespace cdlt::config {
namespace {

namespace fs = std::filesystem;
using Env = std::map<std::string, std::string>;

/// A fresh folder under the system temp dir, removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    path_ = fs::temp_directory_path() /
            ("cdlt_config_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

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

/// Options reading only `dir` (project) and an explicit env map; no global folder.
ProviderOptions Options(const TempDir& dir, Env env = {}) {
  ProviderOptions options;
  options.project_dir = dir.path();
  options.global_dir = dir.path() / "no_global";
  options.environment = std::move(env);
  return options;
}

/// Runs `fn`, expects a cdlt::Error of kind kConfig and returns its message.
std::string ConfigErrorMessage(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kConfig);
    return e.message();
  }
  ADD_FAILURE() << "expected a cdlt::Error";
  return {};
}

TEST(Config, ProviderPriorityEnvSecretsExtraFileConfig) {
  TempDir dir;
  dir.Write(".dlt/secrets.toml", "[s]\nk1 = \"secrets\"\nk2 = \"secrets\"\n");
  fs::path extra = dir.Write("pipe.toml", "[s]\nk1 = \"extra\"\nk2 = \"extra\"\nk3 = \"extra\"\n");
  dir.Write(".dlt/config.toml",
            "[s]\nk1 = \"config\"\nk2 = \"config\"\nk3 = \"config\"\nk4 = \"config\"\n");
  ProviderOptions options = Options(dir, {{"S__K1", "env"}});
  options.extra_files = {extra};
  Config config = Config::Load(options);

  EXPECT_EQ(config.GetString({"s"}, "k1"), "env");
  EXPECT_EQ(config.GetString({"s"}, "k2"), "secrets");
  EXPECT_EQ(config.GetString({"s"}, "k3"), "extra");
  EXPECT_EQ(config.GetString({"s"}, "k4"), "config");
  EXPECT_EQ(config.GetString({"s"}, "k5"), std::nullopt);

  std::optional<ConfigValue> k1 = config.Find({"s"}, "k1");
  ASSERT_TRUE(k1);
  EXPECT_EQ(k1->origin.provider, "environment variable");
  EXPECT_EQ(k1->origin.key, "S__K1");
  std::optional<ConfigValue> k3 = config.Find({"s"}, "k3");
  ASSERT_TRUE(k3);
  EXPECT_EQ(k3->origin.provider, extra.string());
  EXPECT_EQ(k3->origin.key, "s.k3");
  std::optional<ConfigValue> k4 = config.Find({"s"}, "k4");
  ASSERT_TRUE(k4);
  EXPECT_EQ(k4->origin.provider, (dir.path() / ".dlt/config.toml").string());
}

TEST(Config, FirstExtraFileWins) {
  TempDir dir;
  fs::path a = dir.Write("a.toml", "k = \"a\"\n");
  fs::path b = dir.Write("b.toml", "k = \"b\"\nonly_b = 1\n");
  ProviderOptions options = Options(dir);
  options.extra_files = {a, b};
  Config config = Config::Load(options);
  EXPECT_EQ(config.GetString({}, "k"), "a");
  EXPECT_EQ(config.GetInt({}, "only_b"), 1);
  EXPECT_EQ(config.Files(), (std::vector<std::string>{a.string(), b.string()}));
}

TEST(Config, ProjectBeatsGlobalAndTablesAreDeepMerged) {
  TempDir dir;
  dir.Write("project/.dlt/config.toml", "[load]\nworkers = 3\n");
  dir.Write("home/.dlt/config.toml", "[load]\nworkers = 7\nraise_on_failed_jobs = false\n");
  dir.Write("home/.dlt/secrets.toml", "token = \"t\"\n");
  ProviderOptions options;
  options.project_dir = dir.path() / "project";
  options.environment = Env{{"HOME", (dir.path() / "home").string()}};
  Config config = Config::Load(options);

  EXPECT_EQ(config.GetInt({"load"}, "workers"), 3);
  EXPECT_EQ(config.GetBool({"load"}, "raise_on_failed_jobs"), false);
  EXPECT_EQ(config.Find({"load"}, "workers")->origin.provider,
            (dir.path() / "project/.dlt/config.toml").string());
  EXPECT_EQ(config.Find({"load"}, "raise_on_failed_jobs")->origin.provider,
            (dir.path() / "home/.dlt/config.toml").string());
  EXPECT_EQ(config.GetObject({}, "load"),
            nlohmann::json::parse(R"({"workers": 3, "raise_on_failed_jobs": false})"));
  EXPECT_EQ(config.Files(), (std::vector<std::string>{
                                (dir.path() / "home/.dlt/secrets.toml").string(),
                                (dir.path() / "project/.dlt/config.toml").string(),
                                (dir.path() / "home/.dlt/config.toml").string(),
                            }));
}

TEST(Config, ProjectDirAndConfigFolderFromEnvironment) {
  TempDir dir;
  dir.Write("proj/settings/config.toml", "x = \"found\"\n");
  ProviderOptions options;
  options.environment =
      Env{{"DLT_PROJECT_DIR", (dir.path() / "proj").string()}, {"DLT_CONFIG_FOLDER", "settings"}};
  Config config = Config::Load(options);
  EXPECT_EQ(config.GetString({}, "x"), "found");
}

TEST(Config, MissingFoldersAndFilesAreEmptyProviders) {
  TempDir dir;
  ProviderOptions options = Options(dir, {{"A__B", "1"}});
  options.project_dir = dir.path() / "does/not/exist";
  options.extra_files = {dir.path() / "missing.toml"};
  Config config = Config::Load(options);
  EXPECT_TRUE(config.Files().empty());
  EXPECT_EQ(config.GetInt({"a"}, "b"), 1);
  EXPECT_EQ(config.GetInt({"a"}, "c"), std::nullopt);
}

TEST(Config, MoreSpecificPathWinsWithinProvider) {
  TempDir dir;
  dir.Write(".dlt/config.toml",
            "file_glob = \"top\"\n"
            "[sources]\nfile_glob = \"sources\"\n"
            "[sources.filesystem]\nfile_glob = \"filesystem\"\n"
            "[sources.filesystem.orders]\nfile_glob = \"orders\"\n");
  Config config = Config::Load(Options(dir));
  EXPECT_EQ(config.GetString({"sources", "filesystem", "orders"}, "file_glob"), "orders");
  EXPECT_EQ(config.GetString({"sources", "filesystem", "customers"}, "file_glob"), "filesystem");
  EXPECT_EQ(config.GetString({"sources", "other"}, "file_glob"), "sources");
  EXPECT_EQ(config.GetString({"destination"}, "file_glob"), "top");
}

TEST(Config, LessSpecificEnvBeatsMoreSpecificToml) {
  TempDir dir;
  dir.Write(".dlt/secrets.toml", "[sources.sql_database]\ncredentials = \"B\"\n");
  Config config = Config::Load(Options(dir, {{"CREDENTIALS", "A"}}));
  EXPECT_EQ(config.GetString({"sources", "sql_database", "sql_database"}, "credentials"), "A");
}

TEST(Config, PipelineNamePrefixIsTriedFirst) {
  TempDir dir;
  dir.Write(".dlt/config.toml", "[chess.load]\nworkers = 9\n");
  Config config = Config::Load(Options(
      dir, {{"CHESS__EXTRACT__WORKERS", "2"}, {"EXTRACT__WORKERS", "4"}, {"LOAD__WORKERS", "8"}}));
  EXPECT_EQ(config.GetInt({"extract"}, "workers"), 4);
  config.SetPipelineName("chess");
  EXPECT_EQ(config.pipeline_name(), "chess");
  EXPECT_EQ(config.GetInt({"extract"}, "workers"), 2);
  // The prefixed lookup runs over every provider before the unprefixed one.
  EXPECT_EQ(config.GetInt({"load"}, "workers"), 9);
  config.SetPipelineName("other");
  EXPECT_EQ(config.GetInt({"extract"}, "workers"), 4);
}

TEST(Config, EnvStringsAreParsedToTypes) {
  Config config(Env{{"I", " 12 "},
                    {"NEG", "-3"},
                    {"B_TRUE", "TRUE"},
                    {"B_YES", "yes"},
                    {"B_ONE", "1"},
                    {"B_NO", "No"},
                    {"B_ZERO", "0"},
                    {"D", "0.25"},
                    {"D_INT", "3"},
                    {"L_JSON", R"(["a", "b", 3])"},
                    {"L_TOML", "['x', 'y']"},
                    {"L_COMMA", "a, b ,c"},
                    {"L_ONE", "single"},
                    {"O_JSON", R"({"a": 1, "b": {"c": "d"}})"},
                    {"O_TOML", R"({ a = 1, b = { c = "d" } })"},
                    {"S", "text"}});
  EXPECT_EQ(config.GetInt({}, "i"), 12);
  EXPECT_EQ(config.GetInt({}, "neg"), -3);
  EXPECT_EQ(config.GetBool({}, "b_true"), true);
  EXPECT_EQ(config.GetBool({}, "b_yes"), true);
  EXPECT_EQ(config.GetBool({}, "b_one"), true);
  EXPECT_EQ(config.GetBool({}, "b_no"), false);
  EXPECT_EQ(config.GetBool({}, "b_zero"), false);
  EXPECT_EQ(config.GetDouble({}, "d"), 0.25);
  EXPECT_EQ(config.GetDouble({}, "d_int"), 3.0);
  using List = std::vector<std::string>;
  EXPECT_EQ(config.GetStringList({}, "l_json"), (List{"a", "b", "3"}));
  EXPECT_EQ(config.GetStringList({}, "l_toml"), (List{"x", "y"}));
  EXPECT_EQ(config.GetStringList({}, "l_comma"), (List{"a", "b", "c"}));
  EXPECT_EQ(config.GetStringList({}, "l_one"), (List{"single"}));
  nlohmann::json expected = nlohmann::json::parse(R"({"a": 1, "b": {"c": "d"}})");
  EXPECT_EQ(config.GetObject({}, "o_json"), expected);
  EXPECT_EQ(config.GetObject({}, "o_toml"), expected);
  EXPECT_EQ(config.GetString({}, "s"), "text");
  EXPECT_EQ(config.GetSecret({}, "s")->Reveal(), "text");
  EXPECT_EQ(config.Find({}, "i")->value, nlohmann::json(" 12 "));
}

TEST(Config, TomlValuesKeepTheirTypes) {
  TempDir dir;
  dir.Write(".dlt/config.toml",
            "i = 5\nf = 1.5\nb = true\ns = \"one\"\nlist = [\"a\", \"b\"]\n"
            "num_str = \"42\"\n"
            "d = 2024-01-02\nt = 07:08:09.5\nldt = 2024-01-02T03:04:05\n"
            "odt = 2024-01-02T03:04:05Z\nodt2 = 2024-01-02T03:04:05.123-05:30\n");
  Config config = Config::Load(Options(dir));
  EXPECT_EQ(config.GetInt({}, "i"), 5);
  EXPECT_EQ(config.GetDouble({}, "i"), 5.0);
  EXPECT_EQ(config.GetString({}, "i"), "5");
  EXPECT_EQ(config.GetDouble({}, "f"), 1.5);
  EXPECT_EQ(config.GetBool({}, "b"), true);
  EXPECT_EQ(config.GetStringList({}, "s"), std::vector<std::string>{"one"});
  EXPECT_EQ(config.GetStringList({}, "list"), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(config.GetInt({}, "num_str"), 42);
  EXPECT_EQ(config.Find({}, "d")->value, "2024-01-02");
  EXPECT_EQ(config.Find({}, "t")->value, "07:08:09.5");
  EXPECT_EQ(config.Find({}, "ldt")->value, "2024-01-02T03:04:05");
  EXPECT_EQ(config.Find({}, "odt")->value, "2024-01-02T03:04:05Z");
  EXPECT_EQ(config.Find({}, "odt2")->value, "2024-01-02T03:04:05.123-05:30");
}

TEST(Config, TablesAndDottedKeys) {
  TempDir dir;
  dir.Write(".dlt/secrets.toml",
            "[destination.duckdb.credentials]\ndatabase = \"x.duckdb\"\n"
            "[destination.postgres]\ncredentials = '{\"host\": \"h\", \"port\": 5432}'\n");
  Config config = Config::Load(Options(dir));
  EXPECT_EQ(config.GetObject({"destination", "duckdb"}, "credentials"),
            nlohmann::json::parse(R"({"database": "x.duckdb"})"));
  EXPECT_EQ(config.GetString({"destination", "duckdb"}, "credentials.database"), "x.duckdb");
  // The `credentials` level is never dropped, the sections are.
  EXPECT_EQ(config.GetString({"destination", "duckdb", "extra"}, "credentials.database"),
            "x.duckdb");
  EXPECT_EQ(config.GetString({"destination"}, "credentials.database"), std::nullopt);
  // A whole value given as text at the key level still answers dotted lookups.
  EXPECT_EQ(config.GetString({"destination", "postgres"}, "credentials.host"), "h");
  EXPECT_EQ(config.GetInt({"destination", "postgres"}, "credentials.port"), 5432);
}

TEST(Config, DottedKeysFromEnvironment) {
  TempDir dir;
  dir.Write(".dlt/secrets.toml", "[destination.duckdb.credentials]\ndatabase = \"toml\"\n");
  Config config = Config::Load(
      Options(dir, {{"DESTINATION__DUCKDB__CREDENTIALS__DATABASE", "env"},
                    {"DESTINATION__POSTGRES__CREDENTIALS", R"({"host": "pg", "port": 5433})"}}));
  EXPECT_EQ(config.GetString({"destination", "duckdb"}, "credentials.database"), "env");
  EXPECT_EQ(config.GetString({"destination", "postgres"}, "credentials.host"), "pg");
  EXPECT_EQ(config.GetInt({"destination", "postgres"}, "credentials.port"), 5433);
  std::optional<ConfigValue> host = config.Find({"destination", "postgres"}, "credentials.host");
  ASSERT_TRUE(host);
  EXPECT_EQ(host->origin.key, "DESTINATION__POSTGRES__CREDENTIALS");
  EXPECT_EQ(config.GetString({"destination", "postgres"}, "credentials.user"), std::nullopt);
}

TEST(Config, WrongTypeInEnvNamesVariableAndExpectedType) {
  Config config(Env{{"EXTRACT__WORKERS", "abc"}});
  EXPECT_EQ(ConfigErrorMessage([&] { (void)config.GetInt({"extract"}, "workers"); }),
            "config key extract.workers = \"abc\" (environment variable EXTRACT__WORKERS): "
            "expected an integer");
  config.SetPipelineName("chess");
  EXPECT_EQ(ConfigErrorMessage([&] { (void)config.GetBool({"extract"}, "workers"); }),
            "config key extract.workers = \"abc\" (environment variable EXTRACT__WORKERS): "
            "expected a boolean (true/false/1/0/yes/no)");
}

TEST(Config, WrongTypeInTomlNamesFile) {
  TempDir dir;
  fs::path file = dir.Write(".dlt/config.toml", "[load]\nworkers = [1, 2]\nname = { a = 1 }\n");
  Config config = Config::Load(Options(dir));
  EXPECT_EQ(ConfigErrorMessage([&] { (void)config.GetInt({"load"}, "workers"); }),
            "config key load.workers = [1,2] (in " + file.string() + "): expected an integer");
  std::string message = ConfigErrorMessage([&] { (void)config.GetString({"load"}, "name"); });
  EXPECT_NE(message.find("config key load.name"), std::string::npos) << message;
  EXPECT_NE(message.find("expected a string"), std::string::npos) << message;
  message = ConfigErrorMessage([&] { (void)config.GetObject({"load"}, "workers"); });
  EXPECT_NE(message.find("expected an object"), std::string::npos) << message;
}

TEST(Config, IntInRange) {
  Config config(Env{{"LOAD__WORKERS", "0"}, {"EXTRACT__WORKERS", "5"}});
  EXPECT_EQ(config.GetIntInRange({"extract"}, "workers", 1, 64), 5);
  EXPECT_EQ(config.GetIntInRange({"normalize"}, "workers", 1, 64), std::nullopt);
  EXPECT_EQ(ConfigErrorMessage([&] { (void)config.GetIntInRange({"load"}, "workers", 1, 64); }),
            "config key load.workers = \"0\" (environment variable LOAD__WORKERS): expected an "
            "integer between 1 and 64");
}

TEST(Config, BadTomlNamesFileLineAndColumn) {
  TempDir dir;
  fs::path file = dir.Write(".dlt/config.toml", "[load]\nworkers = 3\nbroken = = 1\n");
  std::string message = ConfigErrorMessage([&] { (void)Config::Load(Options(dir)); });
  EXPECT_NE(message.find("invalid TOML in " + file.string() + " at line 3, column"),
            std::string::npos)
      << message;
}

TEST(Config, ThrowMissingListsEveryCandidate) {
  TempDir dir;
  fs::path secrets = dir.Write(".dlt/secrets.toml", "");
  Config config = Config::Load(Options(dir));
  config.SetPipelineName("chess");
  std::string message = ConfigErrorMessage([&] {
    config.ThrowMissing({"sources", "sql_database", "sql_database"}, "credentials",
                        "a connection string");
  });
  std::string config_toml = (dir.path() / ".dlt/config.toml").string();
  std::string global = (dir.path() / "no_global").string();
  EXPECT_EQ(message,
            "missing config value sources.sql_database.sql_database.credentials: looked for "
            "environment variables CHESS__SOURCES__SQL_DATABASE__SQL_DATABASE__CREDENTIALS, "
            "CHESS__SOURCES__SQL_DATABASE__CREDENTIALS, CHESS__SOURCES__CREDENTIALS, "
            "CHESS__CREDENTIALS, SOURCES__SQL_DATABASE__SQL_DATABASE__CREDENTIALS, "
            "SOURCES__SQL_DATABASE__CREDENTIALS, SOURCES__CREDENTIALS, CREDENTIALS; TOML keys "
            "chess.sources.sql_database.sql_database.credentials, "
            "chess.sources.sql_database.credentials, chess.sources.credentials, chess.credentials, "
            "sources.sql_database.sql_database.credentials, sources.sql_database.credentials, "
            "sources.credentials, credentials in " +
                secrets.string() + ", " + global + "/secrets.toml (not found), " + config_toml +
                " (not found), " + global +
                "/config.toml (not found); expected a connection string");
}

TEST(Config, SubsectionsFromTomlAndEnv) {
  TempDir dir;
  dir.Write(".dlt/config.toml",
            "[sources.filesystem.orders]\nfile_glob = \"*.csv\"\n"
            "[sources.filesystem.customers]\nfile_glob = \"*.jsonl\"\n"
            "[sources.filesystem]\nbucket_url = \"x\"\n"
            "[chess.sources.filesystem.games]\nfile_glob = \"g\"\n");
  Config config = Config::Load(Options(dir, {{"SOURCES__FILESYSTEM__PAYMENTS__FILE_GLOB", "p"},
                                             {"SOURCES__FILESYSTEM__ORDERS__X", "o"},
                                             {"SOURCES__FILESYSTEM__BUCKET", "not a section"},
                                             {"SOURCES__SQL__TABLES__X", "other"}}));
  using Names = std::vector<std::string>;
  EXPECT_EQ(config.Subsections({"sources", "filesystem"}),
            (Names{"customers", "orders", "payments"}));
  EXPECT_EQ(config.Subsections({"sources"}), (Names{"filesystem", "sql"}));
  EXPECT_EQ(config.Subsections({"nothing"}), Names{});
  config.SetPipelineName("chess");
  EXPECT_EQ(config.Subsections({"sources", "filesystem"}),
            (Names{"customers", "games", "orders", "payments"}));
}

TEST(Config, SecretValuesNeverAppearInMessages) {
  TempDir dir;
  dir.Write(".dlt/secrets.toml",
            "[destination.postgres.credentials]\npassword = [\"hunter2\"]\n"
            "[sources.api]\napi_key = { v = \"sk-live-123\" }\n"
            "weird = { v = \"visible-secret\" }\n");
  Config config = Config::Load(Options(
      dir, {{"SOURCES__API__TOKEN", "tok-999"}, {"DESTINATION__CREDENTIALS", "pg://u:pw@h/db"}}));
  std::vector<std::string> messages = {
      ConfigErrorMessage([&] {
        (void)config.GetString({"destination", "postgres", "credentials"}, "password");
      }),
      ConfigErrorMessage([&] {
        (void)config.GetSecret({"sources", "api"}, "api_key");
      }),
      ConfigErrorMessage([&] {
        (void)config.GetInt({"sources", "api"}, "token");
      }),
      ConfigErrorMessage([&] { (void)config.GetInt({"destination"}, "credentials"); }),
      ConfigErrorMessage([&] {
        (void)config.GetSecret({"sources", "api"}, "weird");
      }),
  };
  for (const std::string& message : messages) {
    EXPECT_NE(message.find("***"), std::string::npos) << message;
    for (const char* secret : {"hunter2", "sk-live-123", "tok-999", "pw@", "visible-secret"}) {
      EXPECT_EQ(message.find(secret), std::string::npos) << message;
    }
  }
  std::optional<Secret<std::string>> token = config.GetSecret({"sources", "api"}, "token");
  ASSERT_TRUE(token);
  EXPECT_EQ(token->Reveal(), "tok-999");
  EXPECT_EQ(fmt::format("{}", *token), "***");
}

TEST(Config, SecretsAreNotReadFromConfigToml) {
  TempDir dir;
  fs::path file = dir.Write(".dlt/config.toml", "[destination.postgres]\npassword = \"leak\"\n");
  Config config = Config::Load(Options(dir));
  EXPECT_EQ(config.GetString({"destination", "postgres"}, "password"), "leak");
  std::string message = ConfigErrorMessage([&] {
    (void)config.GetSecret({"destination", "postgres"}, "password");
  });
  EXPECT_NE(message.find(file.string()), std::string::npos) << message;
  EXPECT_NE(message.find("must not hold secrets"), std::string::npos) << message;
  EXPECT_EQ(message.find("leak"), std::string::npos) << message;
}

TEST(Config, SecretStorageFilesBeatEnvForSecrets) {
  TempDir dir;
  dir.Write("run_secrets/sources--api--token", "from-file\n");
  dir.Write("run_secrets/token/token", "nested\n");
  ProviderOptions options = Options(dir, {{"SOURCES__API__TOKEN", "from-env"}});
  options.secret_storage_dir = dir.path() / "run_secrets";
  Config config = Config::Load(options);
  EXPECT_EQ(config.GetSecret({"sources", "api"}, "token")->Reveal(), "from-file");
  EXPECT_EQ(config.GetSecret({}, "token")->Reveal(), "nested");
  // Non-secret lookups read only the env var.
  EXPECT_EQ(config.GetString({"sources", "api"}, "token"), "from-env");
}

TEST(Config, DefaultConfigIsEmpty) {
  Config config;
  EXPECT_EQ(config.Find({"a"}, "b"), std::nullopt);
  EXPECT_TRUE(config.Files().empty());
  EXPECT_TRUE(config.Subsections({}).empty());
  EXPECT_EQ(ConfigErrorMessage([&] { config.ThrowMissing({"a"}, "b", "an integer"); }),
            "missing config value a.b: looked for environment variables A__B, B; expected an "
            "integer");
}

}  // namespace
}  // namespace cdlt::config
