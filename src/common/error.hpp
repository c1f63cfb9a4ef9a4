#pragma once

#include <fmt/format.h>

#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cdlt {

/// What failed, which decides the CLI exit code and how a stage reacts.
enum class ErrorKind {
  kConfig,
  kIo,
  kSchema,
  kSchemaContract,
  kSource,
  kDestination,
  kInterrupted,
  kInternal,
};

/// Whether trying the same unit of work again may succeed.
enum class Retry { kTerminal, kTransient };

std::string_view ErrorKindName(ErrorKind kind);

/// The one exception type of cdlt: a kind, a retry class and a message that already names the
/// thing at fault (key, file, table, column...). Context added while crossing layers is appended.
class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, std::string message, Retry retry = Retry::kTerminal)
      : std::runtime_error(message), kind_(kind), retry_(retry), message_(std::move(message)) {}

  ErrorKind kind() const { return kind_; }
  Retry retry() const { return retry_; }
  bool transient() const { return retry_ == Retry::kTransient; }
  /// The message without added context.
  const std::string& message() const { return message_; }
  const char* what() const noexcept override {
    return full_.empty() ? message_.c_str() : full_.c_str();
  }

  /// Add `name=value` context (pipeline, load_id, table, file...) and return *this for rethrow.
  Error& With(std::string_view name, std::string_view value);

 private:
  ErrorKind kind_;
  Retry retry_;
  std::string message_;
  std::string full_;
  std::vector<std::pair<std::string, std::string>> context_;
};

template <typename... Args>
[[noreturn]] void Throw(ErrorKind kind, fmt::format_string<Args...> format, Args&&... args) {
  throw Error(kind, fmt::format(format, std::forward<Args>(args)...));
}

template <typename... Args>
[[noreturn]] void ThrowTransient(ErrorKind kind, fmt::format_string<Args...> format,
                                 Args&&... args) {
  throw Error(kind, fmt::format(format, std::forward<Args>(args)...), Retry::kTransient);
}

/// A load package had jobs that failed terminally (with load.raise_on_failed_jobs = true); the
/// package is aborted and the failed jobs' errors are stored beside their files.
class FailedJobsError : public Error {
 public:
  explicit FailedJobsError(std::string message)
      : Error(ErrorKind::kDestination, std::move(message)) {}
};

/// An error carried across threads as a value.
struct ErrorData {
  ErrorKind kind = ErrorKind::kInternal;
  Retry retry = Retry::kTerminal;
  std::string message;

  static ErrorData FromCurrentException();
  [[noreturn]] void Rethrow() const;
};

}  // namespace cdlt

#define CDLT_ASSERT(cond, why)                                                              \
  do {                                                                                      \
    if (!(cond)) {                                                                          \
      throw ::cdlt::Error(                                                                  \
          ::cdlt::ErrorKind::kInternal,                                                     \
          ::fmt::format("internal error: {} ({}:{}): {}", #cond, __FILE__, __LINE__, why)); \
    }                                                                                       \
  } while (0)
