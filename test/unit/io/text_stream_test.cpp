#include "io/text_stream.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>

#include "helpers/test_util.hpp"
#include "io/file.hpp"

namespace cdlt::test {
namespace {

std::string Lines(int n, size_t width) {
  std::string out;
  for (int i = 1; i <= n; ++i) {
    std::string line = "line " + std::to_string(i) + " ";
    line.resize(width, 'x');
    out += line + "\n";
  }
  return out;
}

/// Reads `reader` to the end and checks every chunk holds whole lines (only the last one may end
/// without a newline) and starts at the right line number.
std::string ReadAll(io::LineChunkReader& reader) {
  std::string all;
  int64_t expected_line = 1;
  bool previous_ended_a_line = true;
  for (std::string_view c = reader.Next(); !c.empty(); c = reader.Next()) {
    EXPECT_TRUE(previous_ended_a_line)
        << "a chunk before line " << expected_line << " ended inside a line";
    EXPECT_EQ(reader.first_line(), expected_line);
    expected_line += static_cast<int64_t>(std::count(c.begin(), c.end(), '\n'));
    previous_ended_a_line = c.back() == '\n';
    all += c;
  }
  return all;
}

std::string ReadAll(const fs::path& path, size_t chunk) {
  io::LineChunkReader reader(path, chunk);
  return ReadAll(reader);
}

TEST(TextStream, PlainGzipAndZstdReadBackInWholeLines) {
  TempDir dir;
  std::string text = Lines(5000, 37) + "last line without newline";
  WriteText(dir / "plain.jsonl", text);
  {
    io::CompressedFileWriter w(dir / "z.jsonl.zst", true);
    for (size_t i = 0; i < text.size(); i += 999) w.Write(std::string_view(text).substr(i, 999));
    EXPECT_LT(w.Close(), static_cast<int64_t>(text.size()));
  }
  WriteGzip(dir / "g.jsonl.gz", text);
  for (const char* name : {"plain.jsonl", "z.jsonl.zst", "g.jsonl.gz"}) {
    for (size_t chunk : {size_t{64}, size_t{1000}, size_t{1} << 20}) {
      SCOPED_TRACE(fmt::format("{} chunk {}", name, chunk));
      io::LineChunkReader reader(dir / name, chunk);
      EXPECT_EQ(ReadAll(reader), text);
      EXPECT_EQ(reader.bytes_read(), static_cast<int64_t>(text.size()));
    }
  }
}

TEST(TextStream, ALineLongerThanTheChunkIsReturnedWhole) {
  TempDir dir;
  std::string long_line(100000, 'a');
  WriteText(dir / "f", "short\n" + long_line + "\nend\n");
  io::LineChunkReader reader(dir / "f", 100);
  std::string_view c = reader.Next();
  EXPECT_EQ(c, "short\n");
  c = reader.Next();
  EXPECT_EQ(c.substr(0, long_line.size() + 1), long_line + "\n");
  EXPECT_EQ(reader.first_line(), 2);
  // The line after it follows, in this chunk or the next ones.
  std::string rest(c.substr(std::min(c.size(), long_line.size() + 1)));
  for (c = reader.Next(); !c.empty(); c = reader.Next()) rest += c;
  EXPECT_EQ(rest, "end\n");
}

TEST(TextStream, TruncatedOrCorruptCompressedFilesFailNamingTheFile) {
  TempDir dir;
  std::string text = Lines(20000, 50);
  WriteZstd(dir / "t.zst", text);
  std::string bytes = io::ReadFile(dir / "t.zst");
  WriteText(dir / "cut.zst", bytes.substr(0, bytes.size() / 2));
  EXPECT_CDLT_ERROR(ReadAll(dir / "cut.zst", 4096), ErrorKind::kIo, "cut.zst");
  WriteGzip(dir / "t.gz", text);
  std::string gz = io::ReadFile(dir / "t.gz");
  WriteText(dir / "cut.gz", gz.substr(0, gz.size() / 2));
  EXPECT_CDLT_ERROR(ReadAll(dir / "cut.gz", 4096), ErrorKind::kIo,
                    "cut.gz: the gzip data is truncated");
  EXPECT_CDLT_ERROR(io::LineChunkReader(dir / "missing.jsonl"), ErrorKind::kIo, "missing.jsonl");
}

TEST(TextStream, EmptyFileHasNoChunks) {
  TempDir dir;
  WriteText(dir / "empty", "");
  io::LineChunkReader reader(dir / "empty");
  EXPECT_TRUE(reader.Next().empty());
}

}  // namespace
}  // namespace cdlt::test
