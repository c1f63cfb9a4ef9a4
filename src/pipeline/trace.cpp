#include <ctime>
#include <nlohmann/json.hpp>

#include "cdlt/pipeline.hpp"
#include "common/error.hpp"

namespace cdlt {

namespace {

std::string FormatTime(double unix_seconds) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return std::string(buf) + " UTC";
}

std::string FormatDuration(double seconds) {
  if (seconds < 60) return fmt::format("{:.2f} seconds", seconds);
  int mins = static_cast<int>(seconds / 60);
  return fmt::format("{} minute(s) {:.1f} seconds", mins, seconds - mins * 60);
}

std::string FormatBytes(double bytes) {
  const char* units[] = {"B", "KB", "MB", "GB", "TB"};
  int u = 0;
  while (bytes >= 1024 && u < 4) {
    bytes /= 1024;
    ++u;
  }
  return u == 0 ? fmt::format("{:.0f} {}", bytes, units[u])
                : fmt::format("{:.1f} {}", bytes, units[u]);
}

}  // namespace

int64_t StepTrace::total_rows() const {
  int64_t n = 0;
  for (const auto& [_, m] : tables) n += m.rows;
  return n;
}

int64_t StepTrace::total_bytes() const {
  int64_t n = 0;
  for (const auto& [_, m] : tables) n += m.bytes;
  return n;
}

std::string RunTrace::ToString() const {
  std::string out = fmt::format("Run started at {} and {} in {} with {} steps.\n",
                                FormatTime(started_at), failed ? "FAILED" : "COMPLETED",
                                FormatDuration(finished_at - started_at), steps.size());
  for (const auto& note : notes) out += fmt::format("Note: {}\n", note);
  for (const auto& s : steps) {
    double secs = s.duration();
    out += fmt::format("Step {} {} in {}.", s.step, s.failed ? "FAILED" : "COMPLETED",
                       FormatDuration(secs));
    if (!s.load_ids.empty()) {
      out += fmt::format(" Load package(s): {}.", fmt::join(s.load_ids, ", "));
    }
    out += "\n";
    for (const auto& [table, m] : s.tables) {
      out += fmt::format("- {}: {} row(s), {} file(s), {}", table, m.rows, m.files,
                         FormatBytes(static_cast<double>(m.bytes)));
      if (secs > 0 && m.rows > 0) out += fmt::format(", {:.0f} rows/s", m.rows / secs);
      if (m.rejected > 0) out += fmt::format(", {} bad line(s) rejected", m.rejected);
      out += "\n";
    }
    if (!s.tables.empty() && secs > 0) {
      out += fmt::format("  total: {} row(s), {}, {:.0f} rows/s, {}/s\n", s.total_rows(),
                         FormatBytes(static_cast<double>(s.total_bytes())), s.total_rows() / secs,
                         FormatBytes(s.total_bytes() / secs));
    }
    if (s.failed) out += fmt::format("  error: {}\n", s.error);
  }
  for (const auto& s : steps) {
    if (s.step != "load" || s.failed) continue;
    out += fmt::format("Pipeline {} load step completed in {}\n", pipeline_name,
                       FormatDuration(s.duration()));
    out += fmt::format("{} load package(s) were loaded to destination {} and into dataset {}\n",
                       loaded_packages.size(), destination, dataset_name);
    out += fmt::format("The {} destination used {} location to store data\n", destination,
                       destination_location);
    for (const auto& id : loaded_packages) {
      out += fmt::format("Load package {} is LOADED and contains {}\n", id,
                         failed_jobs.empty() ? "no failed jobs" : "failed jobs");
    }
  }
  for (const auto& f : failed_jobs) out += fmt::format("Failed job: {}\n", f);
  if (failed) out += fmt::format("Error: {}\n", error);
  out += fmt::format("Peak memory (RSS): {}\n", FormatBytes(static_cast<double>(peak_rss_bytes)));
  return out;
}

std::string RunTrace::ToJson() const {
  nlohmann::json j;
  j["pipeline_name"] = pipeline_name;
  j["destination"] = destination;
  j["dataset_name"] = dataset_name;
  j["destination_location"] = destination_location;
  j["started_at"] = started_at;
  j["finished_at"] = finished_at;
  j["failed"] = failed;
  j["error"] = error;
  j["loaded_packages"] = loaded_packages;
  j["failed_jobs"] = failed_jobs;
  j["peak_rss_bytes"] = peak_rss_bytes;
  j["notes"] = notes;
  j["steps"] = nlohmann::json::array();
  for (const auto& s : steps) {
    nlohmann::json sj = {
        {"step", s.step},     {"started_at", s.started_at}, {"finished_at", s.finished_at},
        {"failed", s.failed}, {"error", s.error},           {"load_ids", s.load_ids}};
    sj["tables"] = nlohmann::json::object();
    for (const auto& [t, m] : s.tables) {
      sj["tables"][t] = {{"rows", m.rows}, {"files", m.files}, {"bytes", m.bytes}};
      if (m.rejected > 0) sj["tables"][t]["rejected"] = m.rejected;
    }
    j["steps"].push_back(sj);
  }
  return j.dump(2);
}

RunTrace RunTrace::FromJson(const std::string& text) {
  RunTrace t;
  try {
    auto j = nlohmann::json::parse(text);
    t.pipeline_name = j.value("pipeline_name", "");
    t.destination = j.value("destination", "");
    t.dataset_name = j.value("dataset_name", "");
    t.destination_location = j.value("destination_location", "");
    t.started_at = j.value("started_at", 0.0);
    t.finished_at = j.value("finished_at", 0.0);
    t.failed = j.value("failed", false);
    t.error = j.value("error", "");
    t.loaded_packages = j.value("loaded_packages", std::vector<std::string>{});
    t.failed_jobs = j.value("failed_jobs", std::vector<std::string>{});
    t.peak_rss_bytes = j.value("peak_rss_bytes", int64_t{0});
    t.notes = j.value("notes", std::vector<std::string>{});
    const nlohmann::json steps = j.value("steps", nlohmann::json::array());
    for (const auto& sj : steps) {
      StepTrace s;
      s.step = sj.value("step", "");
      s.started_at = sj.value("started_at", 0.0);
      s.finished_at = sj.value("finished_at", 0.0);
      s.failed = sj.value("failed", false);
      s.error = sj.value("error", "");
      s.load_ids = sj.value("load_ids", std::vector<std::string>{});
      // Keep the tables object alive for the loop: items() only references it.
      const nlohmann::json tables = sj.value("tables", nlohmann::json::object());
      for (const auto& [name, m] : tables.items()) {
        s.tables[name] =
            TableMetrics{m.value("rows", int64_t{0}), m.value("files", int64_t{0}),
                         m.value("bytes", int64_t{0}), m.value("rejected", int64_t{0})};
      }
      t.steps.push_back(std::move(s));
    }
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorKind::kIo, fmt::format("trace is not valid JSON: {}", e.what()));
  }
  return t;
}

}  // namespace cdlt
