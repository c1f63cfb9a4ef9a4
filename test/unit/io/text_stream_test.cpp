#include "io/text_stream.hpp"

#include <gtest/gtest.h>
#include <zlib.h>

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

/// Reads the file back in chunks and checks every chunk holds whole lines and the line numbers.
std::string ReadAll(const fs::path& path, size_t chunk) {
  io::LineChunkReader reader(path, chunk);
  std::string all;
  int64_t expected_line = 1;
  for (std::string_view c = reader.Next(); !c.empty(); c = reader.Next()) {
    EXPECT_EQ(reader.first_line(), expected_line);
    expected_line += static_cast<int64_t>(std::count(c.begin(), c.end(), '\n'));
    all += c;
  }
  return all;
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
  gzFile g = gzopen((dir / "g.jsonl.gz").c_str(), "wb");
  gzwrite(g, text.data(), static_cast<unsigned>(text.size()));
  gzclose(g);
  for (const char* name : {"plain.jsonl", "z.jsonl.zst", "g.jsonl.gz"}) {
    for (size_t chunk : {size_t{64}, size_t{1000}, size_t{1} << 20}) {
      io::LineChunkReader reader(dir / name, chunk);
      std::string all;
      int64_t line = 1;
      for (std::string_view c = reader.Next(); !c.empty(); c = reader.Next()) {
        EXPECT_EQ(reader.first_line(), line) << name;
        line += static_cast<int64_t>(std::count(c.begin(), c.end(), '\n'));
        all += c;
      }
      EXPECT_EQ(all, text) << name << " chunk " << chunk;
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
}

TEST(TextStream, TruncatedOrCorruptCompressedFilesFailNamingTheFile) {
  TempDir dir;
  std::string text = Lines(20000, 50);
  {
    io::CompressedFileWriter w(dir / "t.zst", true);
    w.Write(text);
    w.Close();
  }
  std::string bytes = io::ReadFile(dir / "t.zst");
  WriteText(dir / "cut.zst", bytes.substr(0, bytes.size() / 2));
  EXPECT_CDLT_ERROR(ReadAll(dir / "cut.zst", 4096), ErrorKind::kIo, "cut.zst");
  gzFile g = gzopen((dir / "t.gz").c_str(), "wb");
  gzwrite(g, text.data(), static_cast<unsigned>(text.size()));
  gzclose(g);
  std::string gz = io::ReadFile(dir / "t.gz");
  WriteText(dir / "cut.gz", gz.substr(0, gz.size() / 2));
  EXPECT_CDLT_ERROR(ReadAll(dir / "cut.gz", 4096), ErrorKind::kIo, "truncated");
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
