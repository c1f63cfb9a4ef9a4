#include "package/load_package.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>

#include "common/error.hpp"
#include "io/file.hpp"

namespace cdlt::package {

std::string_view JobFolder(JobState state) {
  switch (state) {
    case JobState::kNew:
      return "new_jobs";
    case JobState::kStarted:
      return "started_jobs";
    case JobState::kCompleted:
      return "completed_jobs";
    case JobState::kFailed:
      return "failed_jobs";
  }
  return "new_jobs";
}

std::string_view PackageStatusName(PackageStatus status) {
  switch (status) {
    case PackageStatus::kExtracted:
      return "extracted";
    case PackageStatus::kNormalized:
      return "normalized";
    case PackageStatus::kLoaded:
      return "loaded";
    case PackageStatus::kAborted:
      return "aborted";
  }
  return "extracted";
}

JobFileName JobFileName::Parse(std::string_view file_name) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t dot = file_name.find('.', start);
    parts.emplace_back(file_name.substr(start, dot == std::string_view::npos ? dot : dot - start));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  auto bad = [&] {
    Throw(ErrorKind::kIo, "job file name {} is not <table>.<file_id>.<retry>.<ext>", file_name);
  };
  if (parts.size() != 4 && !(parts.size() == 5 && (parts[4] == "gz" || parts[4] == "zst"))) bad();
  JobFileName out;
  out.table = parts[0];
  out.file_id = parts[1];
  try {
    out.retry = std::stoi(parts[2]);
  } catch (...) {
    bad();
  }
  out.ext = parts[3];
  if (parts.size() == 5) out.ext += "." + parts[4];
  if (out.table.empty() || out.file_id.empty()) bad();
  return out;
}

JobFileName JobFileName::New(std::string table, std::string ext) {
  // Ids sort in creation order within a process (a counter), so the jobs of a table written one
  // after another are listed, and normalized, in the order their rows came; the random part keeps
  // ids unique across processes.
  static std::atomic<uint32_t> counter{0};
  return JobFileName{std::move(table),
                     fmt::format("{:06x}{}", counter++ & 0xffffff, io::RandomHex(3)), 0,
                     std::move(ext)};
}

std::string JobFileName::ToString() const {
  return fmt::format("{}.{}.{}.{}", table, file_id, retry, ext);
}

std::string JobFileName::JobId() const { return fmt::format("{}.{}.{}", table, file_id, ext); }

fs::path LoadPackage::JobPath(JobState state, const std::string& file_name) const {
  return dir_ / JobFolder(state) / file_name;
}

std::vector<std::string> LoadPackage::ListJobs(JobState state) const {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir_ / JobFolder(state), ec)) {
    std::string name = e.path().filename().string();
    if (name.find(".tmp-") != std::string::npos) continue;
    if (state == JobState::kFailed && name.ends_with(".exception")) continue;
    if (e.is_regular_file()) out.push_back(std::move(name));
  }
  std::sort(out.begin(), out.end());
  return out;
}

fs::path LoadPackage::MoveJob(const std::string& file_name, JobState from, JobState to) const {
  fs::path dst = JobPath(to, file_name);
  io::RenameDurable(JobPath(from, file_name), dst);
  return dst;
}

std::string LoadPackage::RetryJob(const std::string& file_name) const {
  JobFileName name = JobFileName::Parse(file_name);
  name.retry += 1;
  std::string next = name.ToString();
  io::RenameDurable(JobPath(JobState::kStarted, file_name), JobPath(JobState::kNew, next));
  return next;
}

void LoadPackage::FailJob(const std::string& file_name, JobState from,
                          const std::string& message) const {
  io::WriteFileAtomic(JobPath(JobState::kFailed, file_name + ".exception"), message);
  MoveJob(file_name, from, JobState::kFailed);
}

std::string LoadPackage::FailedJobMessage(const std::string& file_name) const {
  std::error_code ec;
  fs::path p = JobPath(JobState::kFailed, file_name + ".exception");
  if (!fs::exists(p, ec)) return {};
  return io::ReadFile(p);
}

nlohmann::json LoadPackage::ReadState() const {
  std::error_code ec;
  if (!fs::exists(StatePath(), ec)) return nlohmann::json::object();
  try {
    return nlohmann::json::parse(io::ReadFile(StatePath()));
  } catch (const nlohmann::json::exception& e) {
    Throw(ErrorKind::kIo, "package state {} is not valid JSON: {}", StatePath().string(), e.what());
  }
}

void LoadPackage::WriteState(const nlohmann::json& state) const {
  io::WriteFileAtomic(StatePath(), state.dump(2));
}

void LoadPackage::CreateLayout() const {
  for (JobState s : {JobState::kNew, JobState::kStarted, JobState::kCompleted, JobState::kFailed}) {
    io::CreateDirs(dir_ / JobFolder(s));
  }
}

// ---------------------------------------------------------------------------------------------

PackageStorage::PackageStorage(fs::path pipeline_dir) : root_(std::move(pipeline_dir)) {}

std::string PackageStorage::NewLoadId() const {
  static std::mutex mutex;
  static int64_t last_micros = 0;
  std::lock_guard lock(mutex);
  int64_t now = std::chrono::duration_cast<std::chrono::microseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  // Never go below a package already on disk (clock steps back, or a fast rerun).
  for (const auto& list : {ListExtracted(), ListNormalized(), ListLoaded()}) {
    for (const auto& id : list) {
      size_t dot = id.find('.');
      try {
        int64_t secs = std::stoll(id.substr(0, dot));
        int64_t micros = dot == std::string::npos ? 0 : std::stoll(id.substr(dot + 1));
        last_micros = std::max(last_micros, secs * 1000000 + micros);
      } catch (...) {
      }
    }
  }
  if (now <= last_micros) now = last_micros + 1;
  last_micros = now;
  return fmt::format("{}.{:06d}", now / 1000000, now % 1000000);
}

LoadPackage PackageStorage::BeginExtract(const std::string& load_id) const {
  LoadPackage pkg(root_ / "normalize" / ("tmp-" + io::RandomHex(8)) / load_id, load_id);
  pkg.CreateLayout();
  return pkg;
}

LoadPackage PackageStorage::CommitExtract(const LoadPackage& pkg) const {
  fs::path dst = root_ / "normalize" / "extracted" / pkg.load_id();
  io::CreateDirs(dst.parent_path());
  io::RenameDurable(pkg.dir(), dst);
  std::error_code ec;
  fs::remove_all(pkg.dir().parent_path(), ec);
  return LoadPackage(dst, pkg.load_id());
}

LoadPackage PackageStorage::BeginNormalize(const std::string& load_id) const {
  fs::path dir = root_ / "load" / "new" / load_id;
  std::error_code ec;
  fs::remove_all(dir, ec);  // leftovers of a normalize that did not commit
  LoadPackage pkg(dir, load_id);
  pkg.CreateLayout();
  return pkg;
}

LoadPackage PackageStorage::CommitNormalize(const std::string& load_id) const {
  fs::path dst = root_ / "load" / "normalized" / load_id;
  io::CreateDirs(dst.parent_path());
  io::RenameDurable(root_ / "load" / "new" / load_id, dst);
  std::error_code ec;
  fs::remove_all(root_ / "normalize" / "extracted" / load_id, ec);
  return LoadPackage(dst, load_id);
}

LoadPackage PackageStorage::CompleteLoad(const std::string& load_id, PackageStatus status) const {
  fs::path src = root_ / "load" / "normalized" / load_id;
  nlohmann::json marker = {{"status", PackageStatusName(status)},
                           {"completed_at", std::chrono::duration_cast<std::chrono::microseconds>(
                                                std::chrono::system_clock::now().time_since_epoch())
                                                    .count() /
                                                1e6}};
  io::WriteFileAtomic(src / "package_completed.json", marker.dump(2));
  fs::path dst = root_ / "load" / "loaded" / load_id;
  io::CreateDirs(dst.parent_path());
  io::RenameDurable(src, dst);
  return LoadPackage(dst, load_id);
}

std::vector<std::string> PackageStorage::ListIn(const fs::path& dir) const {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.is_directory()) out.push_back(e.path().filename().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> PackageStorage::ListExtracted() const {
  return ListIn(root_ / "normalize" / "extracted");
}
std::vector<std::string> PackageStorage::ListNormalized() const {
  return ListIn(root_ / "load" / "normalized");
}
std::vector<std::string> PackageStorage::ListLoaded() const {
  return ListIn(root_ / "load" / "loaded");
}
LoadPackage PackageStorage::Extracted(const std::string& id) const {
  return LoadPackage(root_ / "normalize" / "extracted" / id, id);
}
LoadPackage PackageStorage::Normalized(const std::string& id) const {
  return LoadPackage(root_ / "load" / "normalized" / id, id);
}
LoadPackage PackageStorage::Loaded(const std::string& id) const {
  return LoadPackage(root_ / "load" / "loaded" / id, id);
}

std::optional<std::pair<PackageStatus, LoadPackage>> PackageStorage::Find(
    const std::string& load_id) const {
  std::error_code ec;
  if (fs::exists(Normalized(load_id).dir(), ec)) {
    return std::make_pair(PackageStatus::kNormalized, Normalized(load_id));
  }
  if (fs::exists(Extracted(load_id).dir(), ec)) {
    return std::make_pair(PackageStatus::kExtracted, Extracted(load_id));
  }
  if (fs::exists(Loaded(load_id).dir(), ec)) {
    LoadPackage pkg = Loaded(load_id);
    PackageStatus status = PackageStatus::kLoaded;
    try {
      auto marker = nlohmann::json::parse(io::ReadFile(pkg.dir() / "package_completed.json"));
      if (marker.value("status", "loaded") == "aborted") status = PackageStatus::kAborted;
    } catch (...) {
    }
    return std::make_pair(status, pkg);
  }
  return std::nullopt;
}

void PackageStorage::Recover() const {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(root_ / "normalize", ec)) {
    if (e.is_directory() && e.path().filename().string().rfind("tmp-", 0) == 0) {
      fs::remove_all(e.path(), ec);
    }
  }
  for (const auto& id : ListIn(root_ / "load" / "new"))
    fs::remove_all(root_ / "load" / "new" / id, ec);
  for (const auto& id : ListNormalized()) {
    fs::remove_all(root_ / "normalize" / "extracted" / id, ec);
  }
}

std::vector<std::string> PackageStorage::DropPending() const {
  std::vector<std::string> dropped;
  std::error_code ec;
  for (const auto& id : ListExtracted()) {
    fs::remove_all(Extracted(id).dir(), ec);
    dropped.push_back(id);
  }
  for (const auto& id : ListNormalized()) {
    fs::remove_all(Normalized(id).dir(), ec);
    dropped.push_back(id);
  }
  Recover();
  return dropped;
}

}  // namespace cdlt::package
