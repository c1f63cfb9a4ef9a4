#pragma once

// The `cdlt` commands: CLI11 wiring plus thin calls into libcdlt (Pipeline, pipeline/inspect).
// Nothing here catches cdlt errors: they travel to main(), which prints them once and exits with
// the code below.
//
// Exit codes:
//   0   ok
//   1   internal or unknown error
//   2   configuration error (ErrorKind::kConfig) or command line usage error
//   3   source or io error (kSource, kIo)
//   4   destination error (kDestination)
//   5   failed load jobs (FailedJobsError, or a run that finished with failed jobs)
//   6   schema or schema contract error (kSchema, kSchemaContract)
//   130 interrupted (kInterrupted)

#include <filesystem>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace CLI {
class App;
}

namespace cdlt::cli {

#ifdef CDLT_VERSION
inline constexpr std::string_view kVersion = CDLT_VERSION;
#else
inline constexpr std::string_view kVersion = "0.1.0";
#endif

inline constexpr int kExitOk = 0;
inline constexpr int kExitInternal = 1;
inline constexpr int kExitConfig = 2;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitSource = 3;
inline constexpr int kExitDestination = 4;
inline constexpr int kExitFailedJobs = 5;
inline constexpr int kExitSchema = 6;
inline constexpr int kExitInterrupted = 130;

/// Return the exit code for an error of `kind` (FailedJobsError is mapped by main to 5).
int ExitCodeFor(ErrorKind kind);

/// `cdlt run [FILE] ...`
struct RunArgs {
  std::string file;  ///< pipeline config file; empty: none
  std::string pipeline_name;
  std::string destination;
  std::string dataset_name;
  std::string progress;  ///< auto, bar, log, none; empty: config / default
  std::string project_dir;
};

/// `cdlt pipeline [-l] [--pipelines-dir D] [-v] NAME OPERATION ...`
struct PipelineArgs {
  bool list_pipelines = false;
  std::string pipelines_dir;  ///< empty: config `pipelines_dir`, else DefaultPipelinesDir()
  int verbosity = 0;
  std::string name;
  std::string operation;               ///< info (default), trace, load-package, failed-jobs, ...
  std::string load_id;                 ///< load-package: empty = newest
  std::string format = "yaml";         ///< schema: json or yaml
  std::string destination;             ///< sync: empty = config `destination`
  std::string dataset_name;            ///< sync: empty = config `dataset_name`
  bool drop_pending_packages = false;  ///< sync: delete pending packages instead of refusing
};

/// Everything the command line can set; filled by CLI11 while parsing.
struct CliArgs {
  RunArgs run;
  PipelineArgs pipeline;
};

/// Register the subcommands, options and --version on `app`, bound to `args`.
void AddCommands(CLI::App& app, CliArgs& args);

/// Run the subcommand `app` parsed; return the exit code. Output goes to `out`, warnings that
/// do not end the command (e.g. failed jobs of a run that did not raise) to `err`.
int Dispatch(CLI::App& app, const CliArgs& args, std::ostream& out, std::ostream& err);

/// `cdlt run`: create the pipeline, build the source named by `[pipeline] source`, run it and
/// print the trace.
int RunCommand(const RunArgs& args, std::ostream& out, std::ostream& err);

/// `cdlt pipeline`: list pipelines or inspect one (see pipeline/inspect.hpp).
int PipelineCommand(const PipelineArgs& args, std::ostream& out);

/// The pipelines folder for `cdlt pipeline`: --pipelines-dir, else the project's
/// `pipelines_dir` config value, else DefaultPipelinesDir().
std::filesystem::path ResolvePipelinesDir(const PipelineArgs& args);

}  // namespace cdlt::cli
