#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "cdlt/pipeline.hpp"

namespace cdlt::pipeline {

/// Live progress of a run: a redrawn status line on a terminal (bar), periodic log lines
/// otherwise (log), or nothing. Stages report rows per table and files done/total.
class Progress {
 public:
  explicit Progress(ProgressMode mode, double log_interval_s = 5.0);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  void StartStage(const std::string& stage, int64_t files_total = 0);
  void AddRows(const std::string& table, int64_t rows);
  void FileDone();
  void EndStage();

 private:
  void Loop();
  std::string Line();

  ProgressMode mode_;
  double interval_s_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::string stage_;
  std::chrono::steady_clock::time_point stage_start_;
  std::map<std::string, int64_t> rows_;
  int64_t files_done_ = 0;
  int64_t files_total_ = 0;
  std::thread thread_;
};

}  // namespace cdlt::pipeline
