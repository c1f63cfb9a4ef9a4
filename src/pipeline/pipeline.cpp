#include "cdlt/pipeline.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <unistd.h>
#include <zlib.h>

#include <chrono>
#include <cstdlib>
#include <ctime>

#include "common/error.hpp"
#include "common/fault.hpp"
#include "common/logging.hpp"
#include "config/config.hpp"
#include "io/file.hpp"
#include "pipeline/inspect.hpp"
#include "pipeline/stages.hpp"
#include "schema/digest.hpp"

namespace cdlt {

namespace fs = std::filesystem;
using pipeline::StageContext;

namespace {

double NowSeconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

int64_t PeakRssBytes() {
  struct rusage ru {};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<int64_t>(ru.ru_maxrss) * 1024;
}

/// Pipeline and schema names: alphanumerics, '-' and '_' only (they name folders).
void CheckPipelineName(const std::string& name) {
  if (name.empty()) {
    throw Error(ErrorKind::kConfig,
                "missing pipeline name: set pipeline_name under [pipeline] in .dlt/config.toml or "
                "the pipeline file, PIPELINE__PIPELINE_NAME, or --pipeline-name");
  }
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') {
      throw Error(ErrorKind::kConfig,
                  fmt::format("pipeline name \"{}\" (config key pipeline_name) may only hold "
                              "letters, digits, '-' and '_'",
                              name));
    }
  }
}

pipeline::WriterConfig ReadWriterConfig(const config::Config& cfg, const std::string& stage) {
  pipeline::WriterConfig w;
  std::vector<std::string> s = {stage};
  if (auto v = cfg.GetIntInRange(s, "data_writer.buffer_max_items", 1, 1LL << 40)) {
    w.buffer_max_items = *v;
  }
  if (auto v = cfg.GetIntInRange(s, "data_writer.file_max_items", 1, 1LL << 50)) {
    w.file_max_items = *v;
  }
  if (auto v = cfg.GetIntInRange(s, "data_writer.file_max_bytes", 1, 1LL << 50)) {
    w.file_max_bytes = *v;
  }
  if (auto v = cfg.GetBool(s, "data_writer.disable_compression")) w.disable_compression = *v;
  return w;
}

std::string ZlibBase64(const std::string& text) {
  uLongf size = compressBound(text.size());
  std::string out(size, '\0');
  if (compress2(reinterpret_cast<Bytef*>(out.data()), &size,
                reinterpret_cast<const Bytef*>(text.data()), text.size(), 9) != Z_OK) {
    throw Error(ErrorKind::kInternal, "cannot compress pipeline state");
  }
  out.resize(size);
  return schema::Base64Encode(out);
}

/// The inverse of ZlibBase64.
std::string UnZlibBase64(const std::string& text) {
  std::optional<std::string> bytes = schema::Base64Decode(text);
  if (!bytes) throw Error(ErrorKind::kDestination, "stored pipeline state is not base64");
  z_stream z{};
  if (inflateInit(&z) != Z_OK) throw Error(ErrorKind::kInternal, "zlib init failed");
  z.next_in = reinterpret_cast<Bytef*>(bytes->data());
  z.avail_in = static_cast<uInt>(bytes->size());
  std::string out;
  char buf[65536];
  int rc = Z_OK;
  while (rc == Z_OK) {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof buf;
    rc = inflate(&z, Z_NO_FLUSH);
    out.append(buf, sizeof buf - z.avail_out);
  }
  inflateEnd(&z);
  if (rc != Z_STREAM_END) throw Error(ErrorKind::kDestination, "stored pipeline state is corrupt");
  return out;
}

std::string HashBase64(const std::string& text) {
  schema::Sha3_256 h;
  h.Update(text);
  return schema::Base64Encode(h.Finish());
}

/// An exclusive lock on the pipeline folder for the life of the object: a second process running
/// the same pipeline fails at once with a clear message instead of corrupting its packages.
class FolderLock {
 public:
  explicit FolderLock(const fs::path& dir, const std::string& name) {
    fs::path path = dir / ".lock";
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) Throw(ErrorKind::kIo, "cannot open lock file {}", path.string());
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      ::close(fd_);
      fd_ = -1;
      Throw(ErrorKind::kConfig,
            "pipeline {} is being run by another process (lock {} is held); wait for it to "
            "finish",
            name, path.string());
    }
  }
  ~FolderLock() {
    if (fd_ >= 0) ::close(fd_);
  }
  FolderLock(const FolderLock&) = delete;
  FolderLock& operator=(const FolderLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace

class PipelineImpl {
 public:
  config::Config cfg;
  std::string name;
  std::string destination_name;
  std::string dataset_name;
  bool dev_mode = false;
  fs::path project_dir;
  fs::path working_dir;
  ProgressMode progress_mode = ProgressMode::kAuto;
  std::unique_ptr<package::PackageStorage> storage;
  std::unique_ptr<schema::NamingConvention> naming;
  StageContext ctx;
  std::optional<RunTrace> trace;
  nlohmann::json local_state;

  fs::path SchemaPath(const std::string& schema_name) const {
    return working_dir / "schemas" / (schema_name + ".schema.json");
  }

  schema::Schema LoadSchema(const std::string& schema_name) const {
    std::error_code ec;
    if (fs::exists(SchemaPath(schema_name), ec))
      return schema::Schema::LoadFile(SchemaPath(schema_name));
    schema::Schema schema = schema::Schema::New(schema_name);
    // A new schema takes the configured naming convention (schema.naming), which the relational
    // normalizer reads from it; an existing schema keeps the one its tables were named with.
    schema.normalizers()["names"] = std::string(naming->name());
    return schema;
  }

  void SaveTrace(RunTrace& t) {
    t.peak_rss_bytes = PeakRssBytes();
    io::WriteFileAtomic(working_dir / "trace.json", t.ToJson());
    trace = t;
  }

  /// dlt's state document for _dlt_pipeline_state, when the state changed since last extract.
  std::optional<nlohmann::json> NextStateRow(const std::string& schema_name) {
    nlohmann::json& s = local_state;
    nlohmann::json names = s.value("schema_names", nlohmann::json::array());
    if (std::find(names.begin(), names.end(), schema_name) == names.end())
      names.push_back(schema_name);
    std::sort(names.begin(), names.end());
    s["schema_names"] = names;
    s["pipeline_name"] = name;
    s["dataset_name"] = dataset_name;
    s["default_schema_name"] = s.value("default_schema_name", schema_name);
    s["destination_type"] = "cdlt.destinations." + destination_name;
    s["destination_name"] = destination_name;
    if (!s.contains("sources")) s["sources"] = nlohmann::json::object();
    nlohmann::json hashed = s;
    for (const char* k : {"_local", "_state_version", "_state_engine_version", "_version_hash"}) {
      hashed.erase(k);
    }
    std::string hash = HashBase64(hashed.dump());
    if (s.value("_version_hash", "") != hash) {
      s["_state_version"] = s.value("_state_version", 0) + 1;
      s["_version_hash"] = hash;
    }
    s["_state_engine_version"] = 4;
    if (s["_local"].value("_last_extracted_hash", "") == hash) return std::nullopt;
    s["_local"]["_last_extracted_hash"] = hash;
    nlohmann::json doc = s;
    doc.erase("_local");
    return nlohmann::json{{"version", s["_state_version"]}, {"engine_version", 4},
                          {"pipeline_name", name},          {"state", ZlibBase64(doc.dump())},
                          {"version_hash", hash},           {"_dlt_id", io::RandomHex(7)}};
  }

  void SaveLocalState() { io::WriteFileAtomic(working_dir / "state.json", local_state.dump(2)); }

  /// Make `doc` (a stored state with version hash `version_hash`) the local state, keeping the
  /// machine-local part (`_local`).
  void ReplaceLocalState(nlohmann::json doc, const std::string& version_hash) {
    nlohmann::json local = local_state["_local"];
    local_state = std::move(doc);
    local_state["_local"] = local;
    local_state["_local"]["_last_extracted_hash"] = version_hash;
    local_state["_local"]["first_run"] = false;
  }

  /// The machine-local part of a new pipeline's state.
  nlohmann::json FreshLocalPart() const {
    return {{"first_run", true}, {"initial_cwd", project_dir.string()}};
  }

  /// The state travels in the package it describes, and state.json is written only after the
  /// package is committed: a crash in between leaves a pending package whose state is newer than
  /// the local one. Take it over before anything else, or the next extract would read again (and
  /// append twice) the rows that package already holds. Returns whether the state was taken.
  bool AdoptPendingPackageState() {
    std::vector<package::LoadPackage> pending;
    for (const auto& id : storage->ListExtracted()) pending.push_back(storage->Extracted(id));
    for (const auto& id : storage->ListNormalized()) pending.push_back(storage->Normalized(id));
    std::sort(pending.begin(), pending.end(),
              [](const auto& a, const auto& b) { return a.load_id() > b.load_id(); });
    for (const package::LoadPackage& pkg : pending) {
      nlohmann::json pkg_state = pkg.ReadState();
      if (!pkg_state.contains("pipeline_state")) continue;
      const nlohmann::json& row = pkg_state["pipeline_state"];
      if (row.value("version", 0) <= local_state.value("_state_version", 0)) return false;
      nlohmann::json doc;
      try {
        doc = nlohmann::json::parse(UnZlibBase64(row.value("state", "")));
      } catch (const std::exception& e) {
        Throw(ErrorKind::kIo, "the pipeline state in pending package {} is unreadable: {}",
              pkg.load_id(), e.what());
      }
      ReplaceLocalState(std::move(doc), row.value("version_hash", ""));
      SaveLocalState();
      log::Warn(
          "pipeline {}: took state version {} from pending package {} (the run that "
          "extracted it stopped before saving the state)",
          name, row.value("version", 0), pkg.load_id());
      return true;
    }
    return false;
  }

  /// The state document of a stored state row, and the schemas it names (parsed, not saved).
  std::pair<nlohmann::json, std::vector<schema::Schema>> ParseStoredState(
      const dest::StoredState& stored) const {
    nlohmann::json remote;
    try {
      remote = nlohmann::json::parse(UnZlibBase64(stored.state));
    } catch (const nlohmann::json::exception& e) {
      throw Error(
          ErrorKind::kDestination,
          fmt::format("the stored state of pipeline {} is not valid JSON: {}", name, e.what()));
    }
    std::vector<schema::Schema> schemas;
    for (const auto& schema_name : remote.value("schema_names", nlohmann::json::array())) {
      auto it = stored.schemas.find(schema_name.get<std::string>());
      if (it == stored.schemas.end()) continue;
      schemas.push_back(schema::Schema::FromJson(nlohmann::ordered_json::parse(it->second)));
    }
    return {std::move(remote), std::move(schemas)};
  }

  /// Make a parsed stored state the local one (keeping `_local` and the configured dataset) and
  /// save its schemas. Returns the schema names.
  std::vector<std::string> ApplyStoredState(const dest::StoredState& stored, nlohmann::json remote,
                                            const std::vector<schema::Schema>& schemas) {
    ReplaceLocalState(std::move(remote), stored.version_hash);
    local_state["dataset_name"] = dataset_name;
    std::vector<std::string> restored;
    for (const schema::Schema& schema : schemas) {
      schema.SaveFile(SchemaPath(schema.name()));
      restored.push_back(schema.name());
    }
    SaveLocalState();
    log::Info("pipeline {}: restored state version {} and schemas [{}] from the destination", name,
              stored.version, fmt::join(restored, ", "));
    return restored;
  }

  /// dlt's sync_destination on a fresh pipeline folder: the newest committed state row and the
  /// schemas it names come back from the destination, so a new machine resumes where the last
  /// one stopped. Returns whether anything was restored.
  bool RestoreFromDestination(dest::DestinationClient& client) {
    std::optional<dest::StoredState> stored = client.RestoreState(name);
    if (!stored) return false;
    auto [remote, schemas] = ParseStoredState(*stored);
    if (remote.value("_state_version", 0) < local_state.value("_state_version", 0)) return false;
    ApplyStoredState(*stored, std::move(remote), schemas);
    return true;
  }
};

Pipeline Pipeline::Create(const PipelineOptions& options) {
  auto impl = std::make_unique<PipelineImpl>();
  config::ProviderOptions po;
  po.project_dir = options.project_dir;
  po.extra_files = options.config_files;
  impl->cfg = config::Config::Load(po);
  const config::Config& cfg = impl->cfg;

  if (const char* env = std::getenv("DLT_PROJECT_DIR"); options.project_dir.empty() && env) {
    impl->project_dir = env;
  } else {
    impl->project_dir = options.project_dir.empty() ? fs::current_path() : options.project_dir;
  }
  impl->project_dir = fs::absolute(impl->project_dir);

  impl->name = options.pipeline_name;
  if (impl->name.empty()) impl->name = cfg.GetString({"pipeline"}, "pipeline_name").value_or("");
  CheckPipelineName(impl->name);
  impl->cfg.SetPipelineName(impl->name);

  if (auto level = cfg.GetString({"runtime"}, "log_level")) {
    log::Level l;
    if (!log::ParseLevel(*level, &l)) {
      throw Error(ErrorKind::kConfig,
                  fmt::format("config key runtime.log_level = \"{}\": expected one of DEBUG, "
                              "INFO, WARNING, ERROR, CRITICAL",
                              *level));
    }
    log::SetLevel(l);
  }

  impl->destination_name = options.destination;
  if (impl->destination_name.empty()) {
    // The top-level [destination] table (destination settings) is not a destination name.
    std::optional<config::ConfigValue> found = cfg.Find({"pipeline"}, "destination");
    impl->destination_name = found && found->value.is_object()
                                 ? "duckdb"
                                 : cfg.GetString({"pipeline"}, "destination").value_or("duckdb");
  }
  auto names = dest::DestinationNames();
  if (std::find(names.begin(), names.end(), impl->destination_name) == names.end()) {
    throw Error(ErrorKind::kConfig,
                fmt::format("unknown destination \"{}\" (config key pipeline.destination); known "
                            "destinations are: {}",
                            impl->destination_name, fmt::join(names, ", ")));
  }
  impl->dev_mode = options.dev_mode.value_or(cfg.GetBool({"pipeline"}, "dev_mode").value_or(false));

  fs::path pipelines_dir = options.pipelines_dir;
  if (pipelines_dir.empty()) {
    if (auto d = cfg.GetString({"pipeline"}, "pipelines_dir")) {
      pipelines_dir = *d;
      if (pipelines_dir.is_relative()) pipelines_dir = impl->project_dir / pipelines_dir;
    } else {
      pipelines_dir = pipeline::DefaultPipelinesDir();
    }
  }
  impl->working_dir = pipelines_dir / impl->name;
  if (impl->dev_mode) {
    std::error_code ec;
    fs::remove_all(impl->working_dir, ec);
  }
  io::CreateDirs(impl->working_dir / "schemas");

  impl->dataset_name = options.dataset_name;
  if (impl->dataset_name.empty()) {
    impl->dataset_name =
        cfg.GetString({"pipeline"}, "dataset_name").value_or(impl->name + "_dataset");
  }
  if (impl->dev_mode) {
    std::time_t t = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char suffix[32];
    std::strftime(suffix, sizeof suffix, "_%Y%m%d%I%M%S", &tm);
    impl->dataset_name += impl->dataset_name.ends_with("_") ? suffix + 1 : suffix;
  }

  if (options.progress) {
    impl->progress_mode = *options.progress;
  } else if (auto p = cfg.GetString({"pipeline"}, "progress")) {
    if (*p == "bar") {
      impl->progress_mode = ProgressMode::kBar;
    } else if (*p == "log") {
      impl->progress_mode = ProgressMode::kLog;
    } else if (*p == "none") {
      impl->progress_mode = ProgressMode::kNone;
    } else {
      throw Error(ErrorKind::kConfig,
                  fmt::format("config key pipeline.progress = \"{}\": allowed values are bar, "
                              "log, none",
                              *p));
    }
  }

  std::string naming = cfg.GetString({"schema"}, "naming").value_or("snake_case");
  impl->naming = schema::MakeNamingConvention(naming);

  impl->storage = std::make_unique<package::PackageStorage>(impl->working_dir);
  StageContext& ctx = impl->ctx;
  ctx.pipeline_name = impl->name;
  ctx.dataset_name = impl->naming->NormalizeIdentifier(impl->dataset_name);
  impl->dataset_name = ctx.dataset_name;
  ctx.working_dir = impl->working_dir;
  ctx.storage = impl->storage.get();
  ctx.naming = impl->naming.get();
  ctx.extract_workers =
      static_cast<int>(cfg.GetIntInRange({"extract"}, "workers", 1, 256).value_or(5));
  ctx.normalize_workers =
      static_cast<int>(cfg.GetIntInRange({"normalize"}, "workers", 1, 256).value_or(1));
  ctx.load_workers = static_cast<int>(cfg.GetIntInRange({"load"}, "workers", 1, 256).value_or(20));
  // Every destination so far loads Parquet; dlt's other formats are refused rather than ignored.
  if (auto format = cfg.GetString({"normalize"}, "loader_file_format")) {
    if (*format != "parquet") {
      throw Error(ErrorKind::kConfig,
                  fmt::format("config key normalize.loader_file_format = \"{}\": destination {} "
                              "loads parquet only",
                              *format, impl->destination_name));
    }
  }
  ctx.extract_writer = ReadWriterConfig(cfg, "extract");
  ctx.normalize_writer = ReadWriterConfig(cfg, "normalize");
  ctx.add_dlt_load_id =
      cfg.GetBool({"normalize"}, "parquet_normalizer.add_dlt_load_id").value_or(false);
  ctx.add_dlt_id = cfg.GetBool({"normalize"}, "parquet_normalizer.add_dlt_id").value_or(false);
  if (auto on_bad_line = cfg.GetString({"normalize"}, "on_bad_line")) {
    if (*on_bad_line != "raise" && *on_bad_line != "reject") {
      Throw(ErrorKind::kConfig,
            "normalize.on_bad_line: invalid value \"{}\": allowed values are raise, reject",
            *on_bad_line);
    }
    ctx.reject_bad_lines = *on_bad_line == "reject";
  }
  ctx.widen_in_place = cfg.GetBool({"schema"}, "widen_in_place").value_or(false);
  ctx.raise_on_failed_jobs = cfg.GetBool({"load"}, "raise_on_failed_jobs").value_or(true);
  ctx.raise_on_max_retries =
      static_cast<int>(cfg.GetIntInRange({"load"}, "raise_on_max_retries", 1, 1000).value_or(5));

  std::error_code ec;
  if (fs::exists(impl->working_dir / "state.json", ec)) {
    try {
      impl->local_state = nlohmann::json::parse(io::ReadFile(impl->working_dir / "state.json"));
    } catch (const nlohmann::json::exception& e) {
      Throw(ErrorKind::kIo, "pipeline state {} is not valid JSON: {}",
            (impl->working_dir / "state.json").string(), e.what());
    }
  }
  if (!impl->local_state.is_object()) impl->local_state = nlohmann::json::object();
  if (!impl->local_state.contains("_local")) impl->local_state["_local"] = impl->FreshLocalPart();
  return Pipeline(std::move(impl));
}

Pipeline::Pipeline(std::unique_ptr<PipelineImpl> impl) : impl_(std::move(impl)) {}
Pipeline::~Pipeline() = default;
Pipeline::Pipeline(Pipeline&&) noexcept = default;
Pipeline& Pipeline::operator=(Pipeline&&) noexcept = default;

const std::string& Pipeline::name() const { return impl_->name; }
const std::string& Pipeline::dataset_name() const { return impl_->dataset_name; }
const fs::path& Pipeline::working_dir() const { return impl_->working_dir; }
const config::Config& Pipeline::config() const { return impl_->cfg; }

std::optional<RunTrace> Pipeline::last_trace() const {
  if (impl_->trace) return impl_->trace;
  std::error_code ec;
  if (!fs::exists(impl_->working_dir / "trace.json", ec)) return std::nullopt;
  return RunTrace::FromJson(io::ReadFile(impl_->working_dir / "trace.json"));
}

namespace {

/// Runs one step, recording it in the trace whether it succeeds or throws.
template <typename Fn>
void RunStep(RunTrace& trace, const std::string& step, Fn&& fn) {
  StepTrace s;
  s.step = step;
  s.started_at = NowSeconds();
  try {
    fn(s);
    s.finished_at = NowSeconds();
    trace.steps.push_back(std::move(s));
  } catch (Error& e) {
    e.With("step", step);
    s.finished_at = NowSeconds();
    s.failed = true;
    s.error = e.what();
    trace.steps.push_back(std::move(s));
    throw;
  } catch (const std::exception& e) {
    s.finished_at = NowSeconds();
    s.failed = true;
    s.error = e.what();
    trace.steps.push_back(std::move(s));
    throw;
  }
}

LoadInfo RunImpl(PipelineImpl& impl, const Source* source) {
  FolderLock lock(impl.working_dir, impl.name);
  impl.storage->Recover();
  impl.AdoptPendingPackageState();
  pipeline::Progress progress(impl.progress_mode);
  impl.ctx.progress = &progress;
  RunTrace trace;
  trace.pipeline_name = impl.name;
  trace.destination = impl.destination_name;
  trace.dataset_name = impl.dataset_name;
  trace.started_at = NowSeconds();
  LoadInfo info;
  std::unique_ptr<dest::DestinationClient> client;
  auto get_client = [&]() -> dest::DestinationClient& {
    if (!client) {
      client = dest::MakeDestination(impl.destination_name, impl.cfg, impl.name, impl.dataset_name,
                                     impl.project_dir);
      trace.destination_location = client->location();
    }
    return *client;
  };
  try {
    // Packages a previous run left behind are finished first, oldest first.
    auto extracted = impl.storage->ListExtracted();
    auto normalized = impl.storage->ListNormalized();
    if (!extracted.empty() || !normalized.empty()) {
      std::string note = fmt::format(
          "finishing {} pending package(s) left by an earlier run before extracting new data: {}",
          extracted.size() + normalized.size(),
          fmt::join(normalized.empty() ? extracted : normalized, ", "));
      log::Warn("{}", note);
      trace.notes.push_back(note);
    }
    auto normalize_pending = [&] {
      for (const auto& id : impl.storage->ListExtracted()) {
        RunStep(trace, "normalize", [&](StepTrace& s) {
          std::string schema_name =
              schema::Schema::LoadFile(impl.storage->Extracted(id).SchemaPath()).name();
          schema::Schema live = impl.LoadSchema(schema_name);
          pipeline::Normalize(impl.ctx, id, live, impl.SchemaPath(schema_name), s);
        });
      }
    };
    auto load_pending = [&] {
      for (const auto& id : impl.storage->ListNormalized()) {
        RunStep(trace, "load", [&](StepTrace& s) {
          pipeline::Load(impl.ctx, id, get_client(), s, info);
          trace.loaded_packages.push_back(id);
        });
      }
    };
    // A fresh pipeline folder takes its state and schemas from the destination first (dlt's
    // restore_from_destination, on by default).
    if (impl.local_state["_local"].value("first_run", false) &&
        impl.storage->ListExtracted().empty() && impl.storage->ListNormalized().empty() &&
        impl.cfg.GetBool({"pipeline"}, "restore_from_destination").value_or(true) &&
        !impl.dev_mode) {
      if (impl.RestoreFromDestination(get_client())) {
        trace.notes.push_back(
            fmt::format("restored state version {} and schemas from the destination",
                        impl.local_state.value("_state_version", 0)));
      }
    }
    normalize_pending();
    load_pending();
    if (source != nullptr) {
      if (source->name.empty()) throw Error(ErrorKind::kConfig, "source has no name");
      // Open the destination before extracting so a bad destination fails before any work.
      get_client();
      schema::Schema live = impl.LoadSchema(source->name);
      // The state changes only with a committed extract: a failed one restores it.
      nlohmann::json saved_state = impl.local_state;
      try {
        if (!impl.local_state.contains("sources") || !impl.local_state["sources"].is_object()) {
          impl.local_state["sources"] = nlohmann::json::object();
        }
        nlohmann::json& source_state = impl.local_state["sources"][source->name];
        if (!source_state.is_object()) source_state = nlohmann::json::object();
        RunStep(trace, "extract", [&](StepTrace& s) {
          pipeline::Extract(
              impl.ctx, *source, live, source_state,
              [&] {
                if (source_state.empty()) impl.local_state["sources"].erase(source->name);
                return impl.NextStateRow(source->name);
              },
              s);
        });
      } catch (...) {
        impl.local_state = std::move(saved_state);
        throw;
      }
      // The package (with the new state inside) is committed, state.json not yet written.
      FaultPoint("extract.before_state_save");
      impl.local_state["_local"]["first_run"] = false;
      impl.local_state["_local"]["_last_extracted_at"] = NowSeconds();
      impl.SaveLocalState();
      normalize_pending();
      load_pending();
    }
    info.has_failed_jobs = !info.failed_jobs.empty();
    trace.failed_jobs = info.failed_jobs;
    trace.finished_at = NowSeconds();
    impl.ctx.progress = nullptr;
    impl.SaveTrace(trace);
    return info;
  } catch (const std::exception& e) {
    trace.failed = true;
    trace.error = e.what();
    trace.failed_jobs = info.failed_jobs;
    trace.finished_at = NowSeconds();
    impl.ctx.progress = nullptr;
    try {
      impl.SaveTrace(trace);
    } catch (...) {
    }
    throw;
  }
}

}  // namespace

LoadInfo Pipeline::Run(const Source& source) { return RunImpl(*impl_, &source); }
LoadInfo Pipeline::RunPending() { return RunImpl(*impl_, nullptr); }

SyncInfo Pipeline::Sync(bool drop_pending_packages) {
  PipelineImpl& impl = *impl_;
  FolderLock lock(impl.working_dir, impl.name);
  impl.storage->Recover();
  if (impl.storage->HasPending() && !drop_pending_packages) {
    std::vector<std::string> pending = impl.storage->ListExtracted();
    for (const auto& id : impl.storage->ListNormalized()) pending.push_back(id);
    Throw(ErrorKind::kConfig,
          "pipeline {} has {} pending package(s) not loaded yet ({}): sync would replace the "
          "state they were extracted with. Load them first (`cdlt run`), or sync with "
          "--drop-pending-packages to delete them (their data is then never loaded)",
          impl.name, pending.size(), fmt::join(pending, ", "));
  }
  SyncInfo info;
  auto client = dest::MakeDestination(impl.destination_name, impl.cfg, impl.name, impl.dataset_name,
                                      impl.project_dir);
  info.destination_location = client->location();
  // Everything is read and parsed before the local folder changes: a destination that cannot be
  // read leaves it as it was.
  std::optional<dest::StoredState> stored = client->RestoreState(impl.name);
  std::optional<std::pair<nlohmann::json, std::vector<schema::Schema>>> parsed;
  if (stored) parsed = impl.ParseStoredState(*stored);

  if (drop_pending_packages) info.dropped_packages = impl.storage->DropPending();
  for (const fs::path& path : {impl.working_dir / "state.json", impl.working_dir / "schemas"}) {
    std::error_code ec;
    fs::remove_all(path, ec);
    if (ec) Throw(ErrorKind::kIo, "cannot remove {}: {}", path.string(), ec.message());
  }
  io::CreateDirs(impl.working_dir / "schemas");
  impl.local_state = {{"_local", impl.FreshLocalPart()}};
  if (!stored) return info;

  info.restored = true;
  info.state_version = stored->version;
  const nlohmann::json& remote = parsed->first;
  if (remote.contains("sources") && remote["sources"].is_object()) {
    for (const auto& [source, _] : remote["sources"].items()) info.sources.push_back(source);
  }
  info.schemas = impl.ApplyStoredState(*stored, std::move(parsed->first), parsed->second);
  return info;
}

}  // namespace cdlt
