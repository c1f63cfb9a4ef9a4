#include "io/text_stream.hpp"

#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "common/error.hpp"
#include "io/file.hpp"

namespace cdlt::io {

namespace {

enum class Compression { kNone, kGzip, kZstd };

constexpr size_t kInputBytes = 1 << 17;

}  // namespace

/// Turns the raw bytes of a file into its text, one buffer at a time.
class LineChunkReader::Decoder {
 public:
  explicit Decoder(const fs::path& path) : path_(path) {
    file_ = std::fopen(path.c_str(), "rb");
    if (file_ == nullptr) {
      Throw(ErrorKind::kIo, "cannot open {}: {}", path.string(), std::strerror(errno));
    }
    in_.resize(kInputBytes);
    ReadInput();
    auto byte = [&](size_t i) { return static_cast<unsigned char>(in_[i]); };
    if (in_size_ >= 2 && byte(0) == 0x1f && byte(1) == 0x8b) {
      compression_ = Compression::kGzip;
      std::memset(&zs_, 0, sizeof(zs_));
      if (inflateInit2(&zs_, 15 + 32) != Z_OK) Fail("cannot start gzip decompression");
      zlib_open_ = true;
    } else if (in_size_ >= 4 && byte(0) == 0x28 && byte(1) == 0xb5 && byte(2) == 0x2f &&
               byte(3) == 0xfd) {
      compression_ = Compression::kZstd;
      dctx_ = ZSTD_createDCtx();
      if (dctx_ == nullptr) Fail("cannot start zstd decompression");
    }
  }
  ~Decoder() {
    if (zlib_open_) inflateEnd(&zs_);
    if (dctx_ != nullptr) ZSTD_freeDCtx(dctx_);
    if (file_ != nullptr) std::fclose(file_);
  }

  /// Writes at most `max` bytes to `dst`; returns the number written (0 only at the end).
  size_t Read(char* dst, size_t max) {
    switch (compression_) {
      case Compression::kNone:
        return ReadPlain(dst, max);
      case Compression::kGzip:
        return ReadGzip(dst, max);
      case Compression::kZstd:
        return ReadZstd(dst, max);
    }
    return 0;
  }

 private:
  [[noreturn]] void Fail(std::string_view why) const {
    Throw(ErrorKind::kIo, "cannot read {}: {}", path_.string(), why);
  }

  void ReadInput() {
    in_pos_ = 0;
    in_size_ = std::fread(in_.data(), 1, in_.size(), file_);
    if (in_size_ < in_.size() && std::ferror(file_)) Fail(std::strerror(errno));
    if (in_size_ == 0) input_done_ = true;
  }

  size_t ReadPlain(char* dst, size_t max) {
    // What the format sniffing read first, then straight from the file into `dst`.
    size_t got = std::min(max, in_size_ - in_pos_);
    std::memcpy(dst, in_.data() + in_pos_, got);
    in_pos_ += got;
    while (got < max && !input_done_) {
      size_t n = std::fread(dst + got, 1, max - got, file_);
      if (n == 0) {
        if (std::ferror(file_)) Fail(std::strerror(errno));
        input_done_ = true;
      }
      got += n;
    }
    return got;
  }

  size_t ReadGzip(char* dst, size_t max) {
    zs_.next_out = reinterpret_cast<Bytef*>(dst);
    zs_.avail_out = static_cast<uInt>(max);
    while (zs_.avail_out > 0) {
      if (in_pos_ == in_size_) {
        if (input_done_) break;
        ReadInput();
        if (input_done_) {
          if (!stream_ended_) Fail("the gzip data is truncated");
          break;
        }
      }
      if (stream_ended_) {
        // Another gzip member follows (concatenated .gz files are valid gzip).
        if (inflateReset(&zs_) != Z_OK) Fail("cannot restart gzip decompression");
        stream_ended_ = false;
      }
      zs_.next_in = reinterpret_cast<Bytef*>(in_.data() + in_pos_);
      zs_.avail_in = static_cast<uInt>(in_size_ - in_pos_);
      int rc = inflate(&zs_, Z_NO_FLUSH);
      in_pos_ = in_size_ - zs_.avail_in;
      if (rc == Z_STREAM_END) {
        stream_ended_ = true;
      } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
        Fail(fmt::format("corrupt gzip data ({})", zs_.msg ? zs_.msg : "inflate failed"));
      }
    }
    return max - zs_.avail_out;
  }

  size_t ReadZstd(char* dst, size_t max) {
    ZSTD_outBuffer out{dst, max, 0};
    while (out.pos < out.size) {
      if (in_pos_ == in_size_) {
        if (input_done_) break;
        ReadInput();
        if (input_done_) {
          if (frame_open_) Fail("the zstd data is truncated");
          break;
        }
      }
      ZSTD_inBuffer in{in_.data(), in_size_, in_pos_};
      size_t rc = ZSTD_decompressStream(dctx_, &out, &in);
      in_pos_ = in.pos;
      if (ZSTD_isError(rc)) Fail(fmt::format("corrupt zstd data ({})", ZSTD_getErrorName(rc)));
      frame_open_ = rc != 0;
    }
    return out.pos;
  }

  fs::path path_;
  std::FILE* file_ = nullptr;
  Compression compression_ = Compression::kNone;
  std::vector<char> in_;
  size_t in_pos_ = 0;
  size_t in_size_ = 0;
  bool input_done_ = false;
  z_stream zs_{};
  bool zlib_open_ = false;
  bool stream_ended_ = false;
  ZSTD_DCtx* dctx_ = nullptr;
  bool frame_open_ = false;
};

LineChunkReader::LineChunkReader(const fs::path& path, size_t chunk_bytes)
    : chunk_bytes_(std::max<size_t>(chunk_bytes, 64)), decoder_(std::make_unique<Decoder>(path)) {}

LineChunkReader::~LineChunkReader() = default;

bool LineChunkReader::Fill(size_t max) {
  if (eof_) return false;
  // The buffer only grows (to about one chunk plus a partial line), so reading into it costs no
  // zero-filling once it has its size.
  if (buffer_.size() < end_ + max) buffer_.resize(end_ + max);
  size_t got = decoder_->Read(buffer_.data() + end_, max);
  end_ += got;
  if (got == 0) eof_ = true;
  return !eof_;
}

std::string_view LineChunkReader::Next() {
  // Drop what the last call returned, keeping the partial line after it.
  if (start_ > 0) {
    std::memmove(buffer_.data(), buffer_.data() + start_, end_ - start_);
    end_ -= start_;
    start_ = 0;
  }
  if (end_ < chunk_bytes_) Fill(chunk_bytes_ - end_);
  size_t searched = 0;
  size_t cut = std::string::npos;
  for (;;) {
    const void* nl =
        end_ > searched ? memrchr(buffer_.data() + searched, '\n', end_ - searched) : nullptr;
    if (nl != nullptr) {
      cut = static_cast<size_t>(static_cast<const char*>(nl) - buffer_.data()) + 1;
      break;
    }
    searched = end_;
    // One line longer than the chunk: read on until it ends.
    if (!Fill(chunk_bytes_)) break;
  }
  if (cut == std::string::npos) cut = end_;  // the last line has no '\n'
  std::string_view chunk(buffer_.data(), cut);
  start_ = cut;
  first_line_ = next_line_;
  // memchr from line end to line end: lines are long, so this beats a byte-wise count.
  int64_t lines = 0;
  for (const char *p = chunk.data(), *stop = chunk.data() + chunk.size();;) {
    p = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(stop - p)));
    if (p == nullptr) break;
    ++lines;
    ++p;
  }
  next_line_ += lines;
  if (!chunk.empty() && chunk.back() != '\n') ++next_line_;
  bytes_read_ += static_cast<int64_t>(chunk.size());
  return chunk;
}

CompressedFileWriter::CompressedFileWriter(const fs::path& path, bool compress, int level)
    : path_(path) {
  file_ = std::fopen(path.c_str(), "wb");
  if (file_ == nullptr) {
    Throw(ErrorKind::kIo, "cannot create {}: {}", path.string(), std::strerror(errno));
  }
  if (compress) {
    ZSTD_CCtx* cctx = ZSTD_createCCtx();
    if (cctx == nullptr) Throw(ErrorKind::kIo, "cannot start zstd for {}", path.string());
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level);
    cctx_ = cctx;
    out_.resize(ZSTD_CStreamOutSize());
  }
}

CompressedFileWriter::~CompressedFileWriter() {
  if (cctx_ != nullptr) ZSTD_freeCCtx(static_cast<ZSTD_CCtx*>(cctx_));
  if (file_ != nullptr) std::fclose(file_);
}

void CompressedFileWriter::WriteRaw(const char* data, size_t size) {
  if (size == 0) return;
  if (std::fwrite(data, 1, size, file_) != size) {
    Throw(ErrorKind::kIo, "cannot write {}: {}", path_.string(), std::strerror(errno));
  }
  written_ += static_cast<int64_t>(size);
}

void CompressedFileWriter::Write(std::string_view data) {
  if (cctx_ == nullptr) {
    WriteRaw(data.data(), data.size());
    return;
  }
  auto* cctx = static_cast<ZSTD_CCtx*>(cctx_);
  ZSTD_inBuffer in{data.data(), data.size(), 0};
  while (in.pos < in.size) {
    ZSTD_outBuffer out{out_.data(), out_.size(), 0};
    size_t rc = ZSTD_compressStream2(cctx, &out, &in, ZSTD_e_continue);
    if (ZSTD_isError(rc)) {
      Throw(ErrorKind::kIo, "cannot compress {}: {}", path_.string(), ZSTD_getErrorName(rc));
    }
    WriteRaw(out_.data(), out.pos);
  }
}

int64_t CompressedFileWriter::Close() {
  if (file_ == nullptr) return written_;
  if (cctx_ != nullptr) {
    auto* cctx = static_cast<ZSTD_CCtx*>(cctx_);
    ZSTD_inBuffer in{nullptr, 0, 0};
    size_t remaining = 0;
    do {
      ZSTD_outBuffer out{out_.data(), out_.size(), 0};
      remaining = ZSTD_compressStream2(cctx, &out, &in, ZSTD_e_end);
      if (ZSTD_isError(remaining)) {
        Throw(ErrorKind::kIo, "cannot compress {}: {}", path_.string(),
              ZSTD_getErrorName(remaining));
      }
      WriteRaw(out_.data(), out.pos);
    } while (remaining != 0);
  }
  if (std::fflush(file_) != 0 || ::fsync(fileno(file_)) != 0) {
    Throw(ErrorKind::kIo, "cannot write {}: {}", path_.string(), std::strerror(errno));
  }
  std::fclose(file_);
  file_ = nullptr;
  return written_;
}

}  // namespace cdlt::io
