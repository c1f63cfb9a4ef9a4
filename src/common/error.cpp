#include "common/error.hpp"

#include <exception>

namespace cdlt {

std::string_view ErrorKindName(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kConfig:
      return "config";
    case ErrorKind::kIo:
      return "io";
    case ErrorKind::kSchema:
      return "schema";
    case ErrorKind::kSchemaContract:
      return "schema_contract";
    case ErrorKind::kSource:
      return "source";
    case ErrorKind::kDestination:
      return "destination";
    case ErrorKind::kInterrupted:
      return "interrupted";
    case ErrorKind::kInternal:
      return "internal";
  }
  return "internal";
}

Error& Error::With(std::string_view name, std::string_view value) {
  for (const auto& [n, v] : context_) {
    if (n == name) return *this;
  }
  context_.emplace_back(std::string(name), std::string(value));
  full_ = message_ + " [";
  for (size_t i = 0; i < context_.size(); ++i) {
    if (i > 0) full_ += ", ";
    full_ += context_[i].first + "=" + context_[i].second;
  }
  full_ += "]";
  return *this;
}

ErrorData ErrorData::FromCurrentException() {
  try {
    throw;
  } catch (const Error& e) {
    return ErrorData{e.kind(), e.retry(), e.what()};
  } catch (const std::exception& e) {
    return ErrorData{ErrorKind::kInternal, Retry::kTerminal, e.what()};
  } catch (...) {
    return ErrorData{ErrorKind::kInternal, Retry::kTerminal, "unknown error"};
  }
}

void ErrorData::Rethrow() const { throw Error(kind, message, retry); }

}  // namespace cdlt
