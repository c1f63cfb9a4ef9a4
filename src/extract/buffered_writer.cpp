#include "extract/buffered_writer.hpp"

#include <algorithm>

#include "common/error.hpp"
#include "common/fault.hpp"
#include "db/duckdb_conn.hpp"
#include "io/text_stream.hpp"
#include "package/load_package.hpp"

namespace cdlt::pipeline {

namespace fs = std::filesystem;
using package::JobFileName;

TableWriter::TableWriter(std::string table, fs::path dir, WriterConfig config,
                         const char* fault_point)
    : table_(std::move(table)), dir_(std::move(dir)), config_(config), fault_point_(fault_point) {
  if (config_.file_max_items) {
    config_.buffer_max_items = std::min(config_.buffer_max_items, *config_.file_max_items);
  }
}

TableWriter::~TableWriter() = default;

void TableWriter::Write(Batch batch) {
  std::lock_guard lock(mutex_);
  if (pending_ && pending_->fields() != batch.fields()) FlushLocked();
  if (batch.num_rows() >= 1024 && !pending_) {
    WriteToFile(std::make_shared<Batch>(std::move(batch)));
    return;
  }
  if (!pending_) pending_ = std::make_unique<Batch>(batch.fields());
  for (size_t c = 0; c < batch.num_columns(); ++c) {
    pending_->column(c).AppendRange(batch.column(c), 0, batch.num_rows());
  }
  if (static_cast<int64_t>(pending_->num_rows()) >= config_.buffer_max_items) FlushLocked();
}

void TableWriter::Close() {
  std::lock_guard lock(mutex_);
  FlushLocked();
  CloseFile();
}

void TableWriter::FlushLocked() {
  if (!pending_ || pending_->num_rows() == 0) {
    pending_.reset();
    return;
  }
  auto batch = std::shared_ptr<const Batch>(std::move(pending_));
  WriteToFile(batch);
}

// Unlike dlt, a batch larger than what the open file may still take is split at the file
// boundary, so file_max_items holds exactly. Each piece is copied once from the original.
void TableWriter::WriteToFile(std::shared_ptr<const Batch> batch) {
  size_t rows = batch->num_rows();
  size_t offset = 0;
  while (offset < rows) {
    // Parquet has one column set per file: a change of columns starts a new file.
    if (file_ && file_fields_ != batch->fields()) CloseFile();
    size_t take = rows - offset;
    if (config_.file_max_items) {
      take = std::min<size_t>(take, *config_.file_max_items - (file_ ? current_.rows : 0));
    }
    WritePiece(take == rows ? batch : std::make_shared<const Batch>(batch->Slice(offset, take)));
    offset += take;
  }
}

void TableWriter::WritePiece(std::shared_ptr<const Batch> batch) {
  if (!file_) {
    JobFileName name = JobFileName::New(table_, "parquet");
    current_ = FileRecord{name.ToString(), 0, 0, nullptr};
    file_fields_ = batch->fields();
    file_ = std::make_unique<db::ParquetStreamWriter>(
        (dir_ / current_.name).string(), file_fields_,
        config_.disable_compression ? "uncompressed" : "zstd");
  }
  current_.rows += static_cast<int64_t>(batch->num_rows());
  current_.bytes += static_cast<int64_t>(batch->ByteSize());
  file_->Write(std::move(batch));
  bool rotate = (config_.file_max_items && current_.rows >= *config_.file_max_items) ||
                (config_.file_max_bytes && current_.bytes >= *config_.file_max_bytes);
  if (rotate) CloseFile();
}

void TableWriter::CloseFile() {
  if (!file_) return;
  file_->Close();
  std::error_code ec;
  current_.bytes = static_cast<int64_t>(fs::file_size(dir_ / current_.name, ec));
  files_.push_back(current_);
  if (fault_point_ != nullptr) FaultPoint(fault_point_);
  file_.reset();
}

JsonlWriter::JsonlWriter(std::string table, fs::path dir, WriterConfig config)
    : table_(std::move(table)), dir_(std::move(dir)), config_(config) {
  // Normalize works file by file: without a configured size, documents are cut into files of
  // about 64 MB so normalize.workers have files to share.
  if (!config_.file_max_items && !config_.file_max_bytes) config_.file_max_bytes = 64 << 20;
}

JsonlWriter::~JsonlWriter() = default;

int64_t JsonlWriter::Write(std::string_view lines, const JsonOrigin* origin) {
  if (lines.empty()) return 0;
  if (!file_) {
    JobFileName name = JobFileName::New(table_, "jsonl");
    current_ = FileRecord{name.ToString(), 0, 0, nlohmann::json::array()};
    raw_bytes_ = 0;
    last_file_.clear();
    next_source_line_ = -1;
    file_ = std::make_unique<io::CompressedFileWriter>(dir_ / current_.name,
                                                       !config_.disable_compression);
  }
  int64_t count = static_cast<int64_t>(std::count(lines.begin(), lines.end(), '\n'));
  bool add_newline = lines.back() != '\n';
  if (add_newline) ++count;
  // A new segment unless these lines continue the last one in the same source file.
  bool continues = origin ? (origin->file == last_file_ && origin->first_line == next_source_line_)
                          : (next_source_line_ == 0);
  if (!continues) {
    nlohmann::json segment = {{"line", current_.rows + 1}};
    segment["file"] = origin ? nlohmann::json(origin->file) : nlohmann::json(nullptr);
    segment["source_line"] = origin ? origin->first_line : current_.rows + 1;
    current_.origins.push_back(std::move(segment));
  }
  last_file_ = origin ? origin->file : std::string();
  next_source_line_ = origin ? origin->first_line + count : 0;
  file_->Write(lines);
  if (add_newline) file_->Write("\n");
  current_.rows += count;
  raw_bytes_ += static_cast<int64_t>(lines.size()) + (add_newline ? 1 : 0);
  bool rotate = (config_.file_max_items && current_.rows >= *config_.file_max_items) ||
                (config_.file_max_bytes && raw_bytes_ >= *config_.file_max_bytes);
  if (rotate) CloseFile();
  return count;
}

void JsonlWriter::Close() { CloseFile(); }

void JsonlWriter::CloseFile() {
  if (!file_) return;
  current_.bytes = file_->Close();
  files_.push_back(current_);
  file_.reset();
  FaultPoint("extract.after_file");
}

}  // namespace cdlt::pipeline
