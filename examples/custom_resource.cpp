// A custom C++ resource loaded into DuckDB: the smallest complete cdlt program.
// Built and run by the test suite (ctest -R example_custom_resource).

#include <cdlt/cdlt.hpp>
#include <cstdio>
#include <filesystem>

int main() {
  namespace fs = std::filesystem;
  fs::path project = fs::current_path() / "custom_resource_project";
  fs::remove_all(project);
  fs::create_directories(project);

  cdlt::PipelineOptions options;
  options.pipeline_name = "example";
  options.project_dir = project;  // .dlt/ config would be read from here
  options.pipelines_dir = project / "pipelines";
  options.progress = cdlt::ProgressMode::kNone;

  try {
    cdlt::Pipeline pipeline = cdlt::Pipeline::Create(options);

    // A resource yields typed batches (pages); returning when Emit says stop honours add_limit.
    cdlt::Resource events("events", [](cdlt::Emitter& out) {
      for (int page = 0; page < 5; ++page) {
        cdlt::Batch batch({{"id", {cdlt::PhysicalType::kInt64}, false},
                           {"kind", {cdlt::PhysicalType::kText}},
                           {"amount", {cdlt::PhysicalType::kDecimal, 12, 2}}});
        for (int i = 0; i < 1000; ++i) {
          int64_t id = page * 1000 + i;
          batch.column(0).Append<int64_t>(id);
          batch.column(1).AppendString(id % 2 ? "click" : "view");
          batch.column(2).Append<__int128>(id * 25);  // 0.25 per id, scale 2
        }
        if (!out.Emit(std::move(batch))) return;
      }
    });
    events.write_disposition("append").primary_key({"id"}).parallelized();

    cdlt::Source source{"example_source", {events}};
    cdlt::LoadInfo info = pipeline.Run(source);
    std::printf("%s", pipeline.last_trace()->ToString().c_str());
    if (info.has_failed_jobs || info.load_ids.size() != 1) return 1;
    const auto& extract = pipeline.last_trace()->steps.at(0);
    return extract.tables.at("events").rows == 5000 ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
