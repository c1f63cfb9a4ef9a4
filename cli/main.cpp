// cdlt: the command line of cdlt, a C++ implementation of dlt (data load tool).
//
// Exit codes (also in cli/commands.hpp):
//   0   ok
//   1   internal or unknown error
//   2   configuration error (ErrorKind::kConfig) or command line usage error (CLI11's message)
//   3   source or io error (kSource, kIo)
//   4   destination error (kDestination)
//   5   failed load jobs (FailedJobsError, or a run that finished with failed jobs)
//   6   schema or schema contract error (kSchema, kSchemaContract)
//   130 interrupted (kInterrupted)
//
// This is the only place that catches errors of a command: each is printed once to stderr as
// `error: <message>` (messages never hold secrets) and mapped to its exit code.

#include <CLI/CLI.hpp>
#include <exception>
#include <iostream>

#include "commands.hpp"
#include "common/error.hpp"

int main(int argc, char** argv) {
  namespace cli = cdlt::cli;
  CLI::App app{"cdlt: load data from sources into destinations, compatible with dlt", "cdlt"};
  cli::CliArgs args;
  cli::AddCommands(app, args);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version arrive here too, with exit code 0.
    return app.exit(e) == 0 ? cli::kExitOk : cli::kExitUsage;
  }

  try {
    return cli::Dispatch(app, args, std::cout, std::cerr);
  } catch (const cdlt::FailedJobsError& e) {
    std::cout.flush();
    std::cerr << "error: " << e.what() << std::endl;
    return cli::kExitFailedJobs;
  } catch (const cdlt::Error& e) {
    std::cout.flush();
    std::cerr << "error: " << e.what() << std::endl;
    return cli::ExitCodeFor(e.kind());
  } catch (const std::exception& e) {
    std::cout.flush();
    std::cerr << "error: internal error: " << e.what() << std::endl;
    return cli::kExitInternal;
  } catch (...) {
    std::cout.flush();
    std::cerr << "error: internal error: unknown exception" << std::endl;
    return cli::kExitInternal;
  }
}
