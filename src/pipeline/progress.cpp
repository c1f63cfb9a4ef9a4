#include "pipeline/progress.hpp"

#include <unistd.h>

#include <cstdio>

#include "common/logging.hpp"

namespace cdlt::pipeline {

Progress::Progress(ProgressMode mode, double log_interval_s)
    : mode_(mode), interval_s_(log_interval_s) {
  if (mode_ == ProgressMode::kAuto) {
    mode_ = isatty(STDERR_FILENO) ? ProgressMode::kBar : ProgressMode::kLog;
  }
  if (mode_ == ProgressMode::kBar) interval_s_ = 0.2;
  if (mode_ != ProgressMode::kNone) thread_ = std::thread([this] { Loop(); });
}

Progress::~Progress() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (mode_ == ProgressMode::kBar) std::fprintf(stderr, "\r\033[K");
}

void Progress::StartStage(const std::string& stage, int64_t files_total) {
  std::lock_guard lock(mutex_);
  stage_ = stage;
  stage_start_ = std::chrono::steady_clock::now();
  rows_.clear();
  files_done_ = 0;
  files_total_ = files_total;
}

void Progress::AddRows(const std::string& table, int64_t rows) {
  std::lock_guard lock(mutex_);
  rows_[table] += rows;
}

void Progress::FileDone() {
  std::lock_guard lock(mutex_);
  ++files_done_;
}

void Progress::EndStage() {
  std::string line;
  {
    std::lock_guard lock(mutex_);
    if (stage_.empty()) return;
    line = Line();
    stage_.clear();
  }
  if (mode_ == ProgressMode::kLog) log::Write(log::Level::kInfo, line + " (done)");
}

std::string Progress::Line() {
  double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - stage_start_).count();
  std::string line = fmt::format("{} {:.1f}s", stage_, secs);
  if (files_total_ > 0) line += fmt::format(" files {}/{}", files_done_, files_total_);
  int shown = 0;
  for (const auto& [table, rows] : rows_) {
    if (++shown > 6) {
      line += fmt::format(" (+{} tables)", rows_.size() - 6);
      break;
    }
    line += fmt::format(" | {}: {} rows {:.0f}/s", table, rows, secs > 0 ? rows / secs : 0.0);
  }
  return line;
}

void Progress::Loop() {
  std::unique_lock lock(mutex_);
  while (!stop_) {
    cv_.wait_for(lock, std::chrono::duration<double>(interval_s_));
    if (stop_ || stage_.empty()) continue;
    std::string line = Line();
    if (mode_ == ProgressMode::kBar) {
      std::fprintf(stderr, "\r\033[K%s", line.c_str());
      std::fflush(stderr);
    } else {
      lock.unlock();
      log::Write(log::Level::kInfo, line);
      lock.lock();
    }
  }
}

}  // namespace cdlt::pipeline
