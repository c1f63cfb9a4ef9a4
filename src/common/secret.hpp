#pragma once

#include <fmt/format.h>

#include <ostream>
#include <string>
#include <utility>

namespace cdlt {

/// A value that must never be printed: it formats as `***` in logs, traces, errors and `info`.
/// The only way to the value is Reveal(), used where it is handed to a driver.
template <typename T = std::string>
class Secret {
 public:
  Secret() = default;
  explicit Secret(T value) : value_(std::move(value)) {}
  const T& Reveal() const { return value_; }
  bool empty() const { return value_.empty(); }
  bool operator==(const Secret& other) const = default;

 private:
  T value_{};
};

template <typename T>
std::ostream& operator<<(std::ostream& os, const Secret<T>&) {
  return os << "***";
}

}  // namespace cdlt

template <typename T>
struct fmt::formatter<cdlt::Secret<T>> : fmt::formatter<std::string_view> {
  template <typename Ctx>
  auto format(const cdlt::Secret<T>&, Ctx& ctx) const {
    return fmt::formatter<std::string_view>::format("***", ctx);
  }
};
