#include "common/logging.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <string>

#include "common/text.hpp"

namespace cdlt::log {
namespace {
std::atomic<Level> g_level{Level::kWarning};
std::mutex g_mutex;

const char* Name(Level level) {
  switch (level) {
    case Level::kDebug:
      return "DEBUG";
    case Level::kInfo:
      return "INFO";
    case Level::kWarning:
      return "WARNING";
    case Level::kError:
      return "ERROR";
    case Level::kCritical:
      return "CRITICAL";
  }
  return "INFO";
}
}  // namespace

void SetLevel(Level level) { g_level = level; }
Level GetLevel() { return g_level; }

bool ParseLevel(std::string_view name, Level* out) {
  std::string upper = ToUpper(name);
  for (Level l : {Level::kDebug, Level::kInfo, Level::kWarning, Level::kError, Level::kCritical}) {
    if (upper == Name(l)) {
      *out = l;
      return true;
    }
  }
  if (upper == "WARN") {
    *out = Level::kWarning;
    return true;
  }
  return false;
}

void Write(Level level, std::string_view message) {
  auto now = std::chrono::system_clock::now();
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", &tm);
  std::lock_guard lock(g_mutex);
  std::fprintf(stderr, "%s|%s|cdlt|%.*s\n", stamp, Name(level), static_cast<int>(message.size()),
               message.data());
}

}  // namespace cdlt::log
