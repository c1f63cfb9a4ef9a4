// The normalize benchmark's tool (bench/normalize_bench.sh):
//   cdlt_normalize_bench generate DIR DOCS FILES
//       writes DOCS GitHub-issue-like documents (about 1 KB each: nested user and reactions
//       objects, labels and assignees lists, an optional milestone) as FILES JSONL files
//   cdlt_normalize_bench parse THREADS FILE...
//       the limit: simdjson parses every line and visits every value, nothing else
//   cdlt_normalize_bench normalize THREADS null|parquet|parquet-uncompressed FILE...
//       the relational normalizer alone; `null` drops the batches (the batches are built all the
//       same), `parquet` writes them as normalize does
// Thread i takes files i, i + THREADS, ... (as normalize workers take the files of a package)
// and reads them in chunks of about 1 MB. Prints one line: docs, rows, seconds, docs/s, MB/s of
// JSON text and peak RSS.

#include <simdjson.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "common/error.hpp"
#include "extract/buffered_writer.hpp"
#include "io/text_stream.hpp"
#include "normalize/relational/relational_normalizer.hpp"

namespace rel = cdlt::normalize::relational;
namespace fs = std::filesystem;

namespace {

std::string Issue(int64_t i) {
  std::string labels;
  for (int64_t l = 0; l < i % 4; ++l) {
    labels += fmt::format(
        R"({}{{"id":{},"node_id":"LA_kwDOBh{}","name":"label-{}","color":"ededed","default":{},"description":"Label number {} for triage"}})",
        l ? "," : "", 1000 + l, l, l, l == 0 ? "true" : "false", l);
  }
  std::string assignees;
  for (int64_t a = 0; a < i % 3; ++a) {
    assignees += fmt::format(R"({}{{"login":"dev{}","id":{},"type":"User","site_admin":false}})",
                             a ? "," : "", a, 500 + a);
  }
  std::string milestone =
      i % 2
          ? "null"
          : R"({"id":7,"number":3,"title":"v1.0","state":"open","due_on":"2024-12-31T00:00:00Z"})";
  return fmt::format(
      R"({{"id":{},"number":{},"title":"Issue {} about something that needs a fix","state":"{}","locked":false,"comments":{},"created_at":"2024-03-{:02}T10:11:12Z","updated_at":"2024-04-{:02}T08:09:10Z","closed_at":{},"author_association":"CONTRIBUTOR","html_url":"https://github.com/org/repo/issues/{}","user":{{"login":"user{}","id":{},"node_id":"MDQ6VXNlcj{}","type":"User","site_admin":false,"avatar_url":"https://avatars.githubusercontent.com/u/{}?v=4"}},"labels":[{}],"reactions":{{"total_count":{},"+1":{},"-1":0,"laugh":0,"hooray":1,"confused":0,"heart":1,"rocket":0,"eyes":2}},"assignees":[{}],"milestone":{},"body":"Steps to reproduce: run the pipeline with ünïcödé input {} and watch the logs; expected rows to load, got an error instead."}})",
      i, i * 10, i, i % 5 ? "open" : "closed", i % 17, 1 + i % 28, 1 + i % 28,
      i % 5 ? "null" : "\"2024-05-01T00:00:00Z\"", i, i % 1000, i % 1000, i, i % 1000, labels,
      i % 11, i % 3, assignees, milestone, i);
}

int Generate(const fs::path& dir, int64_t docs, int files) {
  fs::create_directories(dir);
  for (int f = 0; f < files; ++f) {
    std::ofstream out(dir / fmt::format("issues_{:03}.jsonl", f), std::ios::binary);
    std::string buffer;
    for (int64_t i = docs * f / files; i < docs * (f + 1) / files; ++i) {
      buffer += Issue(i);
      buffer += '\n';
      if (buffer.size() > (1 << 20)) {
        out << buffer;
        buffer.clear();
      }
    }
    out << buffer;
    if (!out) {
      std::cerr << "error: cannot write " << dir << "\n";
      return 1;
    }
  }
  return 0;
}

int64_t Visit(simdjson::dom::element e) {
  switch (e.type()) {
    case simdjson::dom::element_type::ARRAY: {
      int64_t n = 0;
      simdjson::dom::array array = e.get_array().value_unsafe();
      for (auto child : array) n += Visit(child);
      return n;
    }
    case simdjson::dom::element_type::OBJECT: {
      int64_t n = 0;
      simdjson::dom::object object = e.get_object().value_unsafe();
      for (auto field : object) n += Visit(field.value) + 1;
      return n;
    }
    default:
      return 1;
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "generate" && argc == 5) {
    return Generate(argv[2], std::atoll(argv[3]), std::max(1, std::atoi(argv[4])));
  }
  bool parse_only = mode == "parse" && argc >= 4;
  if (!parse_only && !(mode == "normalize" && argc >= 5)) {
    std::cerr << "usage: cdlt_normalize_bench generate DIR DOCS FILES\n"
                 "       cdlt_normalize_bench parse THREADS FILE...\n"
                 "       cdlt_normalize_bench normalize THREADS null|parquet|parquet-uncompressed "
                 "FILE...\n";
    return 2;
  }
  int threads = std::max(1, std::atoi(argv[2]));
  std::string sink_kind = parse_only ? "none" : argv[3];
  // parquet-uncompressed: as data_writer.disable_compression = true.
  bool uncompressed = sink_kind == "parquet-uncompressed";
  if (uncompressed) sink_kind = "parquet";
  std::vector<fs::path> files(argv + (parse_only ? 3 : 4), argv + argc);
  fs::path out_dir = fs::temp_directory_path() / fmt::format("cdlt_nbench_{}", ::getpid());
  try {
    std::atomic<int64_t> bytes{0}, docs{0}, rows{0};
    cdlt::schema::Schema schema = cdlt::schema::Schema::New("bench");
    auto start = std::chrono::steady_clock::now();
    auto work = [&](int index) {
      fs::path dir = out_dir / std::to_string(index);
      std::map<std::string, std::unique_ptr<cdlt::pipeline::TableWriter>> writers;
      auto sink = [&](const std::string& table, cdlt::Batch batch) {
        rows += static_cast<int64_t>(batch.num_rows());
        if (sink_kind == "parquet") {
          auto& w = writers[table];
          if (!w) {
            fs::create_directories(dir);
            cdlt::pipeline::WriterConfig config;
            config.disable_compression = uncompressed;
            w = std::make_unique<cdlt::pipeline::TableWriter>(table, dir, config, nullptr);
          }
          w->Write(std::move(batch));
        }
      };
      rel::NormalizerOptions options;
      options.load_id = "1";
      rel::RootTableSpec root;
      root.table_name = "issues";
      rel::RelationalNormalizer normalizer(schema, root, options, sink);
      simdjson::dom::parser parser;
      int64_t parsed = 0;
      for (size_t f = static_cast<size_t>(index); f < files.size();
           f += static_cast<size_t>(threads)) {
        cdlt::io::LineChunkReader reader(files[f]);
        for (std::string_view chunk = reader.Next(); !chunk.empty(); chunk = reader.Next()) {
          bytes += static_cast<int64_t>(chunk.size());
          if (!parse_only) {
            normalizer.FeedJsonl(chunk, reader.first_line());
            continue;
          }
          for (size_t pos = 0; pos < chunk.size();) {
            size_t end = chunk.find('\n', pos);
            if (end == std::string_view::npos) end = chunk.size();
            if (end > pos) {
              rows += Visit(parser.parse(chunk.data() + pos, end - pos, true).value());
              ++parsed;
            }
            pos = end + 1;
          }
        }
      }
      normalizer.Flush();
      for (auto& [_, w] : writers) w->Close();
      docs += parse_only ? parsed : normalizer.stats().documents;
    };
    std::vector<std::thread> pool;
    for (int i = 1; i < threads; ++i) pool.emplace_back(work, i);
    work(0);
    for (auto& t : pool) t.join();
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    // CPU of the whole process (normalizer threads and DuckDB's Parquet writer threads).
    double cpu = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
                 static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
    std::cout << fmt::format(
        "mode={} threads={} sink={} docs={} rows={} secs={:.3f} docs_per_s={:.0f} "
        "mb_per_s={:.1f} peak_rss_mb={:.1f} cpu_s={:.3f} docs_per_cpu_s={:.0f}\n",
        mode, threads, sink_kind, docs.load(), rows.load(), secs, static_cast<double>(docs) / secs,
        static_cast<double>(bytes) / secs / 1e6, static_cast<double>(usage.ru_maxrss) / 1024.0, cpu,
        static_cast<double>(docs) / cpu);
    std::error_code ec;
    fs::remove_all(out_dir, ec);
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
