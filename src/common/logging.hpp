#pragma once

#include <fmt/format.h>

#include <string_view>
#include <utility>

namespace cdlt::log {

enum class Level { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3, kCritical = 4 };

/// Set from `runtime.log_level` (DEBUG, INFO, WARNING, ERROR, CRITICAL; dlt's names).
void SetLevel(Level level);
Level GetLevel();
/// Parses dlt's level names, case-insensitively; returns false for an unknown name.
bool ParseLevel(std::string_view name, Level* out);
void Write(Level level, std::string_view message);

template <typename... Args>
void Debug(fmt::format_string<Args...> f, Args&&... args) {
  if (GetLevel() <= Level::kDebug)
    Write(Level::kDebug, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void Info(fmt::format_string<Args...> f, Args&&... args) {
  if (GetLevel() <= Level::kInfo) Write(Level::kInfo, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void Warn(fmt::format_string<Args...> f, Args&&... args) {
  if (GetLevel() <= Level::kWarning) {
    Write(Level::kWarning, fmt::format(f, std::forward<Args>(args)...));
  }
}
template <typename... Args>
void Error(fmt::format_string<Args...> f, Args&&... args) {
  if (GetLevel() <= Level::kError)
    Write(Level::kError, fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace cdlt::log
