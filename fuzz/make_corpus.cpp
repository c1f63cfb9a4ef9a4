// Turns the golden normalizer cases (test/data/normalize/*.json) into seed inputs of
// cdlt_normalizer_fuzz, in its input layout (see normalizer_fuzz.cpp): three option bytes taken
// from the case's mode, hints and options, then the seed items, a NUL, and the input.
//
// Usage: cdlt_fuzz_corpus CASES_DIR OUT_DIR

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

namespace {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

std::string Lines(const Json& items) {
  std::string out;
  for (const Json& item : items) {
    if (!out.empty()) out.push_back('\n');
    out += item.dump();
  }
  return out;
}

unsigned ContractBits(const Json& contract) {
  auto mode = [](const Json& m) -> unsigned {
    if (!m.is_string()) return 0;
    const auto& s = m.get_ref<const std::string&>();
    if (s == "freeze") return 1;
    if (s == "discard_row") return 2;
    if (s == "discard_value") return 3;
    return 0;
  };
  if (contract.is_string()) return mode(contract) | mode(contract) << 2 | mode(contract) << 4;
  unsigned bits = 0;
  if (contract.is_object()) {
    bits |= mode(contract.value("tables", Json())) | mode(contract.value("columns", Json())) << 2 |
            mode(contract.value("data_type", Json())) << 4;
  }
  return bits;
}

void Write(const fs::path& path, unsigned char b0, unsigned char b1, unsigned char b2,
           const std::string& seed, const std::string& body) {
  std::string data{static_cast<char>(b0), static_cast<char>(b1), static_cast<char>(b2)};
  if (!seed.empty()) {
    data += seed;
    data.push_back('\0');
  }
  data += body;
  std::ofstream(path, std::ios::binary) << data;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s CASES_DIR OUT_DIR\n", argv[0]);
    return 2;
  }
  fs::path out(argv[2]);
  fs::create_directories(out);
  int written = 0;
  for (const auto& entry : fs::directory_iterator(argv[1])) {
    if (entry.path().extension() != ".json") continue;
    std::ifstream in(entry.path());
    Json cases = Json::parse(in);
    int index = 0;
    for (const Json& c : cases) {
      const std::string mode = c.value("mode", "item");
      const Json hints = c.value("hints", Json::object());
      const Json options = c.value("options", Json::object());
      unsigned b0 = 0, b1 = 0, b2 = 0;
      if (hints.contains("max_table_nesting")) {
        b0 |= 4;
        b1 |= static_cast<unsigned>(hints["max_table_nesting"].get<int>()) & 3;
      }
      if (hints.value("write_disposition", "") == "merge") {
        b0 |= 8;
        const std::string strategy = hints.value("merge_strategy", "delete-insert");
        b1 |= (strategy == "upsert"        ? 1u
               : strategy == "insert-only" ? 2u
               : strategy == "scd2"        ? 3u
                                           : 0u)
              << 2;
      }
      if (options.value("widen_in_place", false)) b0 |= 16;
      if (hints.contains("schema_contract")) {
        b0 |= 32;
        b2 |= ContractBits(hints["schema_contract"]);
      }
      if (options.contains("max_identifier_length")) b0 |= 64;
      if (c.contains("settings")) b0 |= 128;
      if (options.contains("batch_rows")) b2 |= 64;
      if (hints.contains("columns")) b2 |= 128;

      const std::string seed = Lines(c.value("seed", Json::array()));
      const std::string stem = entry.path().stem().string() + "_" + std::to_string(index++) + "_";
      if (mode == "jsonl") {
        Write(out / (stem + "jsonl"), b0, b1, b2, seed, c.value("input_text", ""));
        ++written;
        continue;
      }
      const Json input = c.value("input", Json::array());
      // item: one FeedItem per line; document: JSONL (each line a document).
      Write(out / (stem + "lines"), b0 | (mode == "item" ? 3u : 0u), b1, b2, seed, Lines(input));
      // The whole input as one page.
      Write(out / (stem + "page"), b0 | 1u, b1, b2, seed, input.dump());
      written += 2;
    }
  }
  std::printf("%d seed inputs in %s\n", written, out.c_str());
  return 0;
}
