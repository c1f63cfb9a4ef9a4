#include "common/fault.hpp"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <string>

namespace cdlt {

void FaultPoint(std::string_view name) {
  static const char* spec = std::getenv("CDLT_FAULT_POINT");
  if (spec == nullptr) return;
  static std::atomic<long> passes{0};
  std::string_view s(spec);
  long at = 1;
  if (auto colon = s.find(':'); colon != std::string_view::npos) {
    at = std::strtol(std::string(s.substr(colon + 1)).c_str(), nullptr, 10);
    s = s.substr(0, colon);
  }
  if (s != name) return;
  if (++passes >= at) ::kill(::getpid(), SIGKILL);
}

}  // namespace cdlt
