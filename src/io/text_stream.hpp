#pragma once

// Streaming text files that may be compressed: reading plain, gzip or zstd files in chunks cut at
// line ends, and writing zstd (or plain) files. Memory is bounded by the chunk size, whatever the
// file size.

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

namespace cdlt::io {

namespace fs = std::filesystem;

/// Reads a text file in chunks of whole lines. The compression (none, gzip, zstd) is told by the
/// file's first bytes, not its name.
class LineChunkReader {
 public:
  /// Opens `path`; Error(kIo) naming it when it cannot be opened.
  explicit LineChunkReader(const fs::path& path, size_t chunk_bytes = 1 << 20);
  ~LineChunkReader();
  LineChunkReader(const LineChunkReader&) = delete;
  LineChunkReader& operator=(const LineChunkReader&) = delete;

  /// The next chunk: at least one whole line (a line longer than the chunk size is returned
  /// whole), ending with '\n' unless it is the file's last line without one. Empty at the end.
  /// The view stays valid until the next call. Error(kIo) naming the file on a read or
  /// decompression error (e.g. a truncated .gz).
  std::string_view Next();
  /// The 1-based number of the first line of the chunk last returned by Next().
  int64_t first_line() const { return first_line_; }
  /// Uncompressed bytes returned so far.
  int64_t bytes_read() const { return bytes_read_; }

 private:
  class Decoder;
  /// Reads up to `max` decompressed bytes into buffer_ at end_; returns false at the end of the
  /// file.
  bool Fill(size_t max);

  size_t chunk_bytes_;
  std::unique_ptr<Decoder> decoder_;
  std::string buffer_;  // [start_, end_) holds text not yet returned; the rest is spare room
  size_t start_ = 0;
  size_t end_ = 0;
  bool eof_ = false;
  int64_t first_line_ = 1;
  int64_t next_line_ = 1;
  int64_t bytes_read_ = 0;
};

/// Writes a file, zstd-compressed unless `compress` is false. Data becomes durable at Close().
class CompressedFileWriter {
 public:
  /// Creates `path` (truncating); Error(kIo) naming it on failure.
  CompressedFileWriter(const fs::path& path, bool compress, int level = 1);
  ~CompressedFileWriter();
  CompressedFileWriter(const CompressedFileWriter&) = delete;
  CompressedFileWriter& operator=(const CompressedFileWriter&) = delete;

  void Write(std::string_view data);
  /// Finish the frame, fsync and close. Returns the bytes on disk.
  int64_t Close();

 private:
  void WriteRaw(const char* data, size_t size);

  fs::path path_;
  std::FILE* file_ = nullptr;
  void* cctx_ = nullptr;  // ZSTD_CCtx*
  std::string out_;
  int64_t written_ = 0;
};

}  // namespace cdlt::io
