#include "commands.hpp"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <exception>

#include "cdlt/pipeline.hpp"
#include "config/config.hpp"
#include "pipeline/inspect.hpp"
#include "sources/source_registry.hpp"

namespace cdlt::cli {

namespace fs = std::filesystem;

namespace {

constexpr const char* kPipelineOperations[] = {
    "info", "trace", "load-package", "failed-jobs", "drop-pending-packages", "schema", "sync"};

double NowSeconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

ProgressMode ParseProgress(const std::string& text) {
  if (text == "bar") return ProgressMode::kBar;
  if (text == "log") return ProgressMode::kLog;
  if (text == "none") return ProgressMode::kNone;
  return ProgressMode::kAuto;
}

std::string JoinNames(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& name : names) out += (out.empty() ? "" : ", ") + name;
  return out;
}

void AddRunCommand(CLI::App& app, RunArgs& args) {
  CLI::App* run = app.add_subcommand(
      "run", "Run a pipeline: extract the configured source, normalize and load it");
  run->add_option("FILE", args.file,
                  "Pipeline config file (TOML), read above .dlt/config.toml; it names the source "
                  "in [pipeline] source = \"...\"")
      ->check(CLI::ExistingFile);
  run->add_option("--pipeline-name", args.pipeline_name, "Pipeline name (config: pipeline_name)");
  run->add_option("--destination", args.destination,
                  "Destination, e.g. duckdb (config: destination; default duckdb)");
  run->add_option("--dataset-name", args.dataset_name,
                  "Dataset (schema) in the destination (default <pipeline_name>_dataset)");
  run->add_option("--progress", args.progress, "How to show progress")
      ->check(CLI::IsMember({"auto", "bar", "log", "none"}));
  run->add_option("--project-dir", args.project_dir,
                  "Folder whose .dlt/ holds config.toml and secrets.toml (default "
                  "$DLT_PROJECT_DIR or the current folder)")
      ->check(CLI::ExistingDirectory);
}

void AddPipelineCommand(CLI::App& app, PipelineArgs& args) {
  CLI::App* pipeline = app.add_subcommand(
      "pipeline", "Inspect a pipeline's working folder; without NAME, list the pipelines");
  pipeline->add_flag("-l,--list-pipelines", args.list_pipelines, "List the local pipelines");
  pipeline->add_option("--pipelines-dir", args.pipelines_dir,
                       "Pipelines folder (default: config pipelines_dir, else "
                       "$DLT_DATA_DIR/pipelines or ~/.dlt/pipelines)");
  pipeline->add_flag("-v,--verbose", args.verbosity, "Show more detail (repeatable)");
  pipeline->add_option("NAME", args.name, "Pipeline name");
  pipeline->require_subcommand(0, 1);

  auto add_operation = [&](const char* name, const char* description) {
    CLI::App* op = pipeline->add_subcommand(name, description);
    // Options of `pipeline` (-v, --pipelines-dir) may also follow the operation.
    op->fallthrough();
    return op;
  };
  add_operation("info", "Show schemas, local state, pending packages and the last run (default)");
  add_operation("trace", "Show the trace of the last run");
  add_operation("load-package", "Show a load package and its jobs (default: the newest)")
      ->add_option("LOAD_ID", args.load_id, "Load id of the package");
  add_operation("failed-jobs", "List the failed jobs of the loaded packages with their errors");
  add_operation("drop-pending-packages",
                "Delete extracted and normalized packages that were not loaded (the pipeline "
                "state is not rolled back)");
  add_operation("schema", "Print the default schema")
      ->add_option("--format", args.format, "Output format")
      ->check(CLI::IsMember({"json", "yaml"}))
      ->capture_default_str();
  CLI::App* sync = add_operation(
      "sync",
      "Drop the local state and schemas and restore them from the destination (run in the "
      "project folder: the destination comes from its config)");
  sync->add_option("--destination", args.destination,
                   "Destination to restore from (config: destination; default duckdb)");
  sync->add_option("--dataset-name", args.dataset_name,
                   "Dataset to restore from (config: dataset_name)");
  sync->add_flag("--drop-pending-packages", args.drop_pending_packages,
                 "Delete pending packages first instead of refusing to sync");
}

/// `cdlt pipeline NAME sync`: the one pipeline operation that needs the config and the
/// destination, so it goes through Pipeline rather than the read-only views of inspect.hpp.
void SyncCommand(const PipelineArgs& args, std::ostream& out) {
  PipelineOptions options;
  options.pipeline_name = args.name;
  options.pipelines_dir = args.pipelines_dir;
  options.destination = args.destination;
  options.dataset_name = args.dataset_name;
  options.dev_mode = false;
  Pipeline pipeline = Pipeline::Create(options);
  SyncInfo info = pipeline.Sync(args.drop_pending_packages);
  if (!info.dropped_packages.empty()) {
    out << fmt::format("Dropped {} pending package(s): {}\n", info.dropped_packages.size(),
                       JoinNames(info.dropped_packages));
  }
  if (!info.restored) {
    out << fmt::format(
        "Pipeline {}: dropped the local state and schemas; {} (dataset {}) holds no state of this "
        "pipeline, so the next run starts from scratch\n",
        pipeline.name(), info.destination_location, pipeline.dataset_name());
    return;
  }
  out << fmt::format("Pipeline {}: restored from {} (dataset {})\n", pipeline.name(),
                     info.destination_location, pipeline.dataset_name());
  out << fmt::format("  state version {}, sources: {}\n", info.state_version,
                     info.sources.empty() ? "none" : JoinNames(info.sources));
  out << fmt::format("  schemas: {}\n", info.schemas.empty() ? "none" : JoinNames(info.schemas));
  out << fmt::format("  into {}\n", pipeline.working_dir().string());
}

}  // namespace

int ExitCodeFor(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kConfig:
      return kExitConfig;
    case ErrorKind::kIo:
    case ErrorKind::kSource:
      return kExitSource;
    case ErrorKind::kDestination:
      return kExitDestination;
    case ErrorKind::kSchema:
    case ErrorKind::kSchemaContract:
      return kExitSchema;
    case ErrorKind::kInterrupted:
      return kExitInterrupted;
    case ErrorKind::kInternal:
      return kExitInternal;
  }
  return kExitInternal;
}

void AddCommands(CLI::App& app, CliArgs& args) {
  app.set_version_flag("--version", fmt::format("cdlt {}", kVersion));
  app.require_subcommand(1);
  AddRunCommand(app, args.run);
  AddPipelineCommand(app, args.pipeline);
}

int Dispatch(CLI::App& app, const CliArgs& args, std::ostream& out, std::ostream& err) {
  if (app.got_subcommand("run")) return RunCommand(args.run, out, err);
  if (CLI::App* pipeline = app.get_subcommand("pipeline"); pipeline->parsed()) {
    PipelineArgs pipeline_args = args.pipeline;
    for (const CLI::App* op : pipeline->get_subcommands()) pipeline_args.operation = op->get_name();
    return PipelineCommand(pipeline_args, out);
  }
  Throw(ErrorKind::kInternal, "no command given");
}

int RunCommand(const RunArgs& args, std::ostream& out, std::ostream& err) {
  PipelineOptions options;
  options.pipeline_name = args.pipeline_name;
  options.destination = args.destination;
  options.dataset_name = args.dataset_name;
  options.project_dir = args.project_dir;
  if (!args.file.empty()) options.config_files.push_back(args.file);
  if (!args.progress.empty()) options.progress = ParseProgress(args.progress);

  Pipeline pipeline = Pipeline::Create(options);
  const config::Config& config = pipeline.config();
  std::optional<std::string> source_name = config.GetString({"pipeline"}, "source");
  if (!source_name) {
    config.ThrowMissing({"pipeline"}, "source",
                        fmt::format("a source name: {}", JoinNames(sources::SourceNames())));
  }
  Source source = sources::MakeSource(*source_name, config);

  double started = NowSeconds();
  LoadInfo info;
  try {
    info = pipeline.Run(source);
  } catch (...) {
    // Not handled here: the trace of the failed run shows which step failed and what each step
    // did before; main() still prints the error and picks the exit code. A trace older than this
    // run (saved by an earlier one) is not shown.
    if (auto trace = pipeline.last_trace(); trace && trace->started_at >= started - 1) {
      out << trace->ToString();
      out.flush();
    }
    throw;
  }
  if (auto trace = pipeline.last_trace()) out << trace->ToString();
  out.flush();
  if (info.has_failed_jobs) {
    // load.raise_on_failed_jobs = false: the run went on, but a script must still notice.
    err << fmt::format("error: {} load job(s) failed; see `cdlt pipeline {} failed-jobs`\n",
                       info.failed_jobs.size(), pipeline.name());
    for (const auto& job : info.failed_jobs) err << "  " << job << "\n";
    return kExitFailedJobs;
  }
  return kExitOk;
}

fs::path ResolvePipelinesDir(const PipelineArgs& args) {
  if (!args.pipelines_dir.empty()) return args.pipelines_dir;
  config::Config config = config::Config::Load(config::ProviderOptions{});
  if (!args.name.empty()) config.SetPipelineName(args.name);
  if (auto dir = config.GetString({}, "pipelines_dir"); dir && !dir->empty()) return *dir;
  return pipeline::DefaultPipelinesDir();
}

int PipelineCommand(const PipelineArgs& args, std::ostream& out) {
  fs::path pipelines_dir = ResolvePipelinesDir(args);
  if (args.list_pipelines || args.name.empty()) {
    auto names = pipeline::ListPipelines(pipelines_dir);
    if (names.empty()) {
      out << fmt::format("No pipelines found in {}\n", pipelines_dir.string());
    } else {
      out << fmt::format("{} pipeline(s) found in {}\n", names.size(), pipelines_dir.string());
      for (const auto& name : names) out << name << "\n";
    }
    return kExitOk;
  }
  std::string op = args.operation.empty() ? "info" : args.operation;
  if (op == "info") {
    out << pipeline::PipelineInfo(pipelines_dir, args.name, args.verbosity > 0);
  } else if (op == "trace") {
    out << pipeline::PipelineTrace(pipelines_dir, args.name);
  } else if (op == "load-package") {
    std::optional<std::string> load_id;
    if (!args.load_id.empty()) load_id = args.load_id;
    out << pipeline::LoadPackageInfo(pipelines_dir, args.name, load_id);
  } else if (op == "failed-jobs") {
    out << pipeline::FailedJobs(pipelines_dir, args.name);
  } else if (op == "drop-pending-packages") {
    auto dropped = pipeline::DropPendingPackages(pipelines_dir, args.name);
    if (dropped.empty()) {
      out << fmt::format("Pipeline {} has no pending packages\n", args.name);
    } else {
      out << fmt::format("Dropped {} pending package(s) of pipeline {}: {}\n", dropped.size(),
                         args.name, JoinNames(dropped));
    }
  } else if (op == "sync") {
    SyncCommand(args, out);
  } else if (op == "schema") {
    out << pipeline::SchemaText(pipelines_dir, args.name, args.format);
  } else {
    std::vector<std::string> ops(std::begin(kPipelineOperations), std::end(kPipelineOperations));
    Throw(ErrorKind::kConfig, "unknown pipeline operation {}; allowed values are {}", op,
          JoinNames(ops));
  }
  out.flush();
  return kExitOk;
}

}  // namespace cdlt::cli
