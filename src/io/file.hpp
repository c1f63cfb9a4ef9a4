#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace cdlt::io {

namespace fs = std::filesystem;

/// Write `content` to `path` atomically: temp file in the same folder, fsync, rename, fsync dir.
void WriteFileAtomic(const fs::path& path, std::string_view content);
/// Read a whole file; Error(kIo) naming the file when it cannot be read.
std::string ReadFile(const fs::path& path);
/// fsync a file or folder.
void Fsync(const fs::path& path);
/// rename(2) then fsync both parent folders; Error(kIo) naming both paths on failure.
void RenameDurable(const fs::path& from, const fs::path& to);
/// Create a folder and its parents; Error(kIo) naming it on failure.
void CreateDirs(const fs::path& path);
/// Random lower-case hex string of `bytes` random bytes.
std::string RandomHex(size_t bytes);

}  // namespace cdlt::io
