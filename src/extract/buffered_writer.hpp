#pragma once

// Writers of job files: typed batches to rotated Parquet files (extract and normalize), JSON
// documents to rotated, zstd-compressed JSONL files (extract). Each writer is one stream of files
// for one table; memory is bounded by the buffer size, whatever the table size.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "cdlt/batch.hpp"
#include "cdlt/resource.hpp"
#include "pipeline/stages.hpp"

namespace cdlt::db {
class ParquetStreamWriter;
}
namespace cdlt::io {
class CompressedFileWriter;
}

namespace cdlt::pipeline {

/// A finished job file.
struct FileRecord {
  std::string name;
  int64_t rows = 0;  ///< rows (Parquet) or lines (JSONL)
  int64_t bytes = 0;
  /// JSONL only: where its lines came from, as [{"line": first line in this file, "file":
  /// source file or null, "source_line": that line's number in the source file}, ...].
  nlohmann::json origins;
};

/// Buffers one table's batches and writes them to rotated Parquet files in `dir`.
class TableWriter {
 public:
  /// `fault_point` (crash tests) is passed each time a file is finished; nullptr for none.
  TableWriter(std::string table, std::filesystem::path dir, WriterConfig config,
              const char* fault_point = "extract.after_file");
  ~TableWriter();

  /// Add a batch. Small batches are coalesced up to buffer_max_items rows before they reach
  /// the file; large ones pass through without a copy.
  void Write(Batch batch);
  void Close();

  const std::vector<FileRecord>& files() const { return files_; }

 private:
  void FlushLocked();
  void WriteToFile(std::shared_ptr<const Batch> batch);
  void WritePiece(std::shared_ptr<const Batch> batch);
  void CloseFile();

  std::mutex mutex_;
  std::string table_;
  std::filesystem::path dir_;
  WriterConfig config_;
  const char* fault_point_;
  std::unique_ptr<Batch> pending_;
  std::unique_ptr<db::ParquetStreamWriter> file_;
  Fields file_fields_;
  FileRecord current_;
  std::vector<FileRecord> files_;
};

/// Writes one table's JSON documents, one per line, to rotated JSONL files in `dir` (zstd unless
/// compression is disabled). file_max_items counts lines, file_max_bytes uncompressed bytes;
/// without either, files are cut at 64 MB of JSON.
class JsonlWriter {
 public:
  JsonlWriter(std::string table, std::filesystem::path dir, WriterConfig config);
  ~JsonlWriter();

  /// Append whole lines (a trailing '\n' is added when missing); `origin` tells where they came
  /// from, so normalize can name the source file and line of a bad document. Returns the number
  /// of lines written.
  int64_t Write(std::string_view lines, const JsonOrigin* origin);
  void Close();

  const std::vector<FileRecord>& files() const { return files_; }

 private:
  void CloseFile();

  std::string table_;
  std::filesystem::path dir_;
  WriterConfig config_;
  std::unique_ptr<io::CompressedFileWriter> file_;
  FileRecord current_;
  int64_t raw_bytes_ = 0;
  /// The origin expected to continue the last segment: file and next source line.
  std::string last_file_;
  int64_t next_source_line_ = -1;
  std::vector<FileRecord> files_;
};

}  // namespace cdlt::pipeline
