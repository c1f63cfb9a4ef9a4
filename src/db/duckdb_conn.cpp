#include "db/duckdb_conn.hpp"

#include <duckdb.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <limits>
#include <map>
#include <mutex>
#include <thread>

#include "common/logging.hpp"

namespace cdlt::db {
namespace {

std::string WhatSuffix(std::string_view what) {
  return what.empty() ? std::string() : fmt::format(" ({})", what);
}

bool RowValid(const uint64_t* validity, idx_t row) {
  return validity == nullptr || (validity[row / 64] & (uint64_t{1} << (row % 64))) != 0;
}

/// Owns a duckdb_logical_type.
struct LogicalType {
  duckdb_logical_type type = nullptr;
  explicit LogicalType(duckdb_logical_type t) : type(t) {}
  ~LogicalType() {
    if (type != nullptr) duckdb_destroy_logical_type(&type);
  }
  LogicalType(LogicalType&& other) noexcept : type(other.type) { other.type = nullptr; }
  LogicalType(const LogicalType&) = delete;
  LogicalType& operator=(const LogicalType&) = delete;
  LogicalType& operator=(LogicalType&&) = delete;
};

LogicalType MakeLogicalType(const ColumnType& t) {
  switch (t.id) {
    case PhysicalType::kBool:
      return LogicalType(duckdb_create_logical_type(DUCKDB_TYPE_BOOLEAN));
    case PhysicalType::kInt8:
      return LogicalType(duckdb_create_logical_type(DUCKDB_TYPE_TINYINT));
    case PhysicalType::kInt16:
      return LogicalType(duckdb_create_logical_type(DUCKDB_TYPE_SMALLINT));
    case PhysicalType::kInt32:
      return LogicalType(duckdb_create_logical_type(DUCKDB_TYPE_INTEGER));
    case PhysicalType::kInt64:
      return LogicalType(duckdb_create_logical_type(DUCKDB_TYPE_BIGINT));
    case PhysicalType::kInt128:
      return LogicalType(duckdb_create_logical_type(DUCKDB_TYPE_HUGEINT));
    case PhysicalType::kFloat:
      return LogicalType(duckdb_create_logical_type(DUCKDB_TYPE_FLOAT));
    case PhysicalType::kDouble:
      return LogicalType(duckdb_create_logical_type(DUCKDB_TYPE_DOUBLE));
    case PhysicalType::kDecimal: {
      uint8_t p = t.precision == 0 ? 38 : std::min<uint8_t>(t.precision, 38);
      uint8_t s = std::min(t.scale, p);
      return LogicalType(duckdb_create_decimal_type(p, s));
    }
    case PhysicalType::kText:
      return LogicalType(duckdb_create_logical_type(DUCKDB_TYPE_VARCHAR));
    case PhysicalType::kJson: {
      LogicalType lt(duckdb_create_logical_type(DUCKDB_TYPE_VARCHAR));
      duckdb_logical_type_set_alias(lt.type, "JSON");
      return lt;
    }
    case PhysicalType::kBinary:
      return LogicalType(duckdb_create_logical_type(DUCKDB_TYPE_BLOB));
    case PhysicalType::kDate:
      return LogicalType(duckdb_create_logical_type(DUCKDB_TYPE_DATE));
    case PhysicalType::kTime:
      return LogicalType(duckdb_create_logical_type(DUCKDB_TYPE_TIME));
    case PhysicalType::kTimestamp:
      return LogicalType(duckdb_create_logical_type(DUCKDB_TYPE_TIMESTAMP));
    case PhysicalType::kTimestampTz:
      return LogicalType(duckdb_create_logical_type(DUCKDB_TYPE_TIMESTAMP_TZ));
    case PhysicalType::kUuid:
      return LogicalType(duckdb_create_logical_type(DUCKDB_TYPE_UUID));
  }
  return LogicalType(duckdb_create_logical_type(DUCKDB_TYPE_VARCHAR));
}

/// Maps a DuckDB result column type to a cdlt column type; nullopt when it must be cast first.
std::optional<ColumnType> ToColumnType(duckdb_logical_type lt) {
  switch (duckdb_get_type_id(lt)) {
    case DUCKDB_TYPE_BOOLEAN:
      return ColumnType{PhysicalType::kBool};
    case DUCKDB_TYPE_TINYINT:
      return ColumnType{PhysicalType::kInt8};
    case DUCKDB_TYPE_SMALLINT:
      return ColumnType{PhysicalType::kInt16};
    case DUCKDB_TYPE_INTEGER:
      return ColumnType{PhysicalType::kInt32};
    case DUCKDB_TYPE_BIGINT:
      return ColumnType{PhysicalType::kInt64};
    case DUCKDB_TYPE_HUGEINT:
      return ColumnType{PhysicalType::kInt128};
    case DUCKDB_TYPE_FLOAT:
      return ColumnType{PhysicalType::kFloat};
    case DUCKDB_TYPE_DOUBLE:
      return ColumnType{PhysicalType::kDouble};
    case DUCKDB_TYPE_DECIMAL:
      return ColumnType{PhysicalType::kDecimal, duckdb_decimal_width(lt), duckdb_decimal_scale(lt)};
    case DUCKDB_TYPE_VARCHAR: {
      char* alias = duckdb_logical_type_get_alias(lt);
      bool json = alias != nullptr && std::string_view(alias) == "JSON";
      if (alias != nullptr) duckdb_free(alias);
      return ColumnType{json ? PhysicalType::kJson : PhysicalType::kText};
    }
    case DUCKDB_TYPE_BLOB:
      return ColumnType{PhysicalType::kBinary};
    case DUCKDB_TYPE_DATE:
      return ColumnType{PhysicalType::kDate};
    case DUCKDB_TYPE_TIME:
      return ColumnType{PhysicalType::kTime};
    case DUCKDB_TYPE_TIMESTAMP:
      return ColumnType{PhysicalType::kTimestamp};
    case DUCKDB_TYPE_TIMESTAMP_TZ:
      return ColumnType{PhysicalType::kTimestampTz};
    case DUCKDB_TYPE_UUID:
      return ColumnType{PhysicalType::kUuid};
    default:
      return std::nullopt;
  }
}

std::string_view StringAt(duckdb_string_t* strings, idx_t row) {
  duckdb_string_t* s = &strings[row];
  return std::string_view(duckdb_string_t_data(s), duckdb_string_t_length(*s));
}

void AppendVector(duckdb_vector vec, idx_t rows, Column& col) {
  const uint64_t* validity = duckdb_vector_get_validity(vec);
  void* data = duckdb_vector_get_data(vec);
  const ColumnType& t = col.type();
  col.Reserve(col.size() + rows);
  for (idx_t r = 0; r < rows; ++r) {
    if (!RowValid(validity, r)) {
      col.AppendNull();
      continue;
    }
    switch (t.id) {
      case PhysicalType::kBool:
      case PhysicalType::kInt8:
        col.Append(static_cast<const uint8_t*>(data)[r]);
        break;
      case PhysicalType::kInt16:
        col.Append(static_cast<const int16_t*>(data)[r]);
        break;
      case PhysicalType::kInt32:
      case PhysicalType::kDate:
        col.Append(static_cast<const int32_t*>(data)[r]);
        break;
      case PhysicalType::kFloat:
        col.Append(static_cast<const float*>(data)[r]);
        break;
      case PhysicalType::kInt64:
      case PhysicalType::kTime:
      case PhysicalType::kTimestamp:
      case PhysicalType::kTimestampTz:
        col.Append(static_cast<const int64_t*>(data)[r]);
        break;
      case PhysicalType::kDouble:
        col.Append(static_cast<const double*>(data)[r]);
        break;
      case PhysicalType::kInt128: {
        const auto& h = static_cast<const duckdb_hugeint*>(data)[r];
        col.Append(
            static_cast<__int128>((static_cast<unsigned __int128>(h.upper) << 64) | h.lower));
        break;
      }
      case PhysicalType::kDecimal: {
        __int128 v = 0;
        if (t.precision <= 4) {
          v = static_cast<const int16_t*>(data)[r];
        } else if (t.precision <= 9) {
          v = static_cast<const int32_t*>(data)[r];
        } else if (t.precision <= 18) {
          v = static_cast<const int64_t*>(data)[r];
        } else {
          const auto& h = static_cast<const duckdb_hugeint*>(data)[r];
          v = static_cast<__int128>((static_cast<unsigned __int128>(h.upper) << 64) | h.lower);
        }
        col.Append(v);
        break;
      }
      case PhysicalType::kUuid: {
        const auto& h = static_cast<const duckdb_hugeint*>(data)[r];
        uint64_t upper = static_cast<uint64_t>(h.upper) ^ (uint64_t{1} << 63);
        uint8_t bytes[16];
        for (int i = 0; i < 8; ++i) bytes[i] = static_cast<uint8_t>(upper >> (56 - 8 * i));
        for (int i = 0; i < 8; ++i) bytes[8 + i] = static_cast<uint8_t>(h.lower >> (56 - 8 * i));
        std::array<uint8_t, 16> arr;
        std::memcpy(arr.data(), bytes, 16);
        col.Append(arr);
        break;
      }
      case PhysicalType::kText:
      case PhysicalType::kBinary:
      case PhysicalType::kJson:
        col.AppendString(StringAt(static_cast<duckdb_string_t*>(data), r));
        break;
    }
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// DuckDatabase / DuckConnection

std::shared_ptr<DuckDatabase> DuckDatabase::Open(const std::string& path,
                                                 const DuckOptions& options, ErrorKind kind) {
  std::shared_ptr<DuckDatabase> db(new DuckDatabase());
  db->path_ = path.empty() ? ":memory:" : path;
  duckdb_config config = nullptr;
  duckdb_create_config(&config);
  auto set = [&](const char* name, const std::string& value) {
    if (duckdb_set_config(config, name, value.c_str()) != DuckDBSuccess) {
      duckdb_destroy_config(&config);
      throw Error(kind, fmt::format("cannot open DuckDB database {}: DuckDB refuses {} = '{}'",
                                    db->path_, name, value));
    }
  };
  if (options.threads > 0) set("threads", std::to_string(options.threads));
  if (!options.memory_limit.empty()) set("memory_limit", options.memory_limit);
  char* err = nullptr;
  duckdb_database handle = nullptr;
  duckdb_state st = duckdb_open_ext(db->path_.c_str(), &handle, config, &err);
  duckdb_destroy_config(&config);
  if (st != DuckDBSuccess) {
    std::string msg = err != nullptr ? err : "unknown error";
    if (err != nullptr) duckdb_free(err);
    throw Error(kind, fmt::format("cannot open DuckDB database {}: {}", db->path_, msg));
  }
  db->db_ = reinterpret_cast<_duckdb_database*>(handle);
  return db;
}

bool IsValidSetting(const std::string& name, const std::string& value) {
  duckdb_config config = nullptr;
  if (duckdb_create_config(&config) != DuckDBSuccess) return false;
  bool ok = duckdb_set_config(config, name.c_str(), value.c_str()) == DuckDBSuccess;
  duckdb_destroy_config(&config);
  return ok;
}

DuckDatabase::~DuckDatabase() {
  if (db_ != nullptr) {
    auto handle = reinterpret_cast<duckdb_database>(db_);
    duckdb_close(&handle);
  }
}

DuckConnection::DuckConnection(std::shared_ptr<DuckDatabase> db, ErrorKind kind)
    : db_(std::move(db)), kind_(kind) {
  duckdb_connection con = nullptr;
  if (duckdb_connect(reinterpret_cast<duckdb_database>(db_->handle()), &con) != DuckDBSuccess) {
    throw Error(kind, fmt::format("cannot connect to DuckDB database {}", db_->path()));
  }
  con_ = reinterpret_cast<_duckdb_connection*>(con);
}

DuckConnection::~DuckConnection() {
  if (con_ != nullptr) {
    auto con = reinterpret_cast<duckdb_connection>(con_);
    duckdb_disconnect(&con);
  }
}

void DuckConnection::Execute(std::string_view sql, std::string_view what) {
  duckdb_result result;
  std::string q(sql);
  duckdb_state st = duckdb_query(reinterpret_cast<duckdb_connection>(con_), q.c_str(), &result);
  if (st != DuckDBSuccess) {
    std::string msg = duckdb_result_error(&result) ? duckdb_result_error(&result) : "unknown error";
    duckdb_destroy_result(&result);
    throw Error(kind_, fmt::format("DuckDB error{}: {}", WhatSuffix(what), msg));
  }
  duckdb_destroy_result(&result);
}

TextRows DuckConnection::QueryText(std::string_view sql, std::string_view what) {
  TextRows out;
  std::string q = fmt::format("SELECT COLUMNS(*)::VARCHAR FROM ({}) AS q", sql);
  duckdb_result result;
  duckdb_state st = duckdb_query(reinterpret_cast<duckdb_connection>(con_), q.c_str(), &result);
  if (st != DuckDBSuccess) {
    std::string msg = duckdb_result_error(&result) ? duckdb_result_error(&result) : "unknown error";
    duckdb_destroy_result(&result);
    throw Error(kind_, fmt::format("DuckDB error{}: {}", WhatSuffix(what), msg));
  }
  idx_t ncols = duckdb_column_count(&result);
  for (idx_t c = 0; c < ncols; ++c) out.columns.emplace_back(duckdb_column_name(&result, c));
  while (true) {
    duckdb_data_chunk chunk = duckdb_fetch_chunk(result);
    if (chunk == nullptr) break;
    idx_t rows = duckdb_data_chunk_get_size(chunk);
    size_t base = out.rows.size();
    out.rows.resize(base + rows, std::vector<std::optional<std::string>>(ncols));
    for (idx_t c = 0; c < ncols; ++c) {
      duckdb_vector vec = duckdb_data_chunk_get_vector(chunk, c);
      const uint64_t* validity = duckdb_vector_get_validity(vec);
      auto* strings = static_cast<duckdb_string_t*>(duckdb_vector_get_data(vec));
      for (idx_t r = 0; r < rows; ++r) {
        if (RowValid(validity, r)) out.rows[base + r][c] = std::string(StringAt(strings, r));
      }
    }
    duckdb_destroy_data_chunk(&chunk);
  }
  duckdb_destroy_result(&result);
  return out;
}

std::optional<std::string> DuckConnection::QueryScalar(std::string_view sql,
                                                       std::string_view what) {
  TextRows rows = QueryText(sql, what);
  if (rows.rows.empty() || rows.columns.empty()) return std::nullopt;
  return rows.rows[0][0];
}

void DuckConnection::StreamBatches(std::string_view sql, size_t batch_rows,
                                   const std::function<void(Batch&)>& on_batch,
                                   std::string_view what) {
  auto con = reinterpret_cast<duckdb_connection>(con_);
  std::string q(sql);
  duckdb_prepared_statement stmt = nullptr;
  if (duckdb_prepare(con, q.c_str(), &stmt) != DuckDBSuccess) {
    std::string msg = duckdb_prepare_error(stmt) ? duckdb_prepare_error(stmt) : "unknown error";
    duckdb_destroy_prepare(&stmt);
    throw Error(kind_, fmt::format("DuckDB error{}: {}", WhatSuffix(what), msg));
  }
  duckdb_result result;
  duckdb_state st = duckdb_execute_prepared_streaming(stmt, &result);
  duckdb_destroy_prepare(&stmt);
  if (st != DuckDBSuccess) {
    std::string msg = duckdb_result_error(&result) ? duckdb_result_error(&result) : "unknown error";
    duckdb_destroy_result(&result);
    throw Error(kind_, fmt::format("DuckDB error{}: {}", WhatSuffix(what), msg));
  }
  struct ResultGuard {
    duckdb_result* r;
    ~ResultGuard() { duckdb_destroy_result(r); }
  } guard{&result};

  idx_t ncols = duckdb_column_count(&result);
  Fields fields;
  for (idx_t c = 0; c < ncols; ++c) {
    LogicalType lt(duckdb_column_logical_type(&result, c));
    auto type = ToColumnType(lt.type);
    const char* name = duckdb_column_name(&result, c);
    if (!type) {
      char* tn = duckdb_logical_type_get_alias(lt.type);
      std::string tname = tn ? tn : std::to_string(static_cast<int>(duckdb_get_type_id(lt.type)));
      if (tn) duckdb_free(tn);
      throw Error(ErrorKind::kInternal,
                  fmt::format("column {} has a DuckDB type (id {}) with no cdlt mapping{}", name,
                              tname, WhatSuffix(what)));
    }
    fields.push_back(Field{name, *type, true});
  }
  Batch batch(fields);
  while (true) {
    duckdb_data_chunk chunk = duckdb_fetch_chunk(result);
    if (chunk == nullptr) {
      const char* err = duckdb_result_error(&result);
      if (err != nullptr) {
        throw Error(kind_, fmt::format("DuckDB error{}: {}", WhatSuffix(what), err));
      }
      break;
    }
    idx_t rows = duckdb_data_chunk_get_size(chunk);
    for (idx_t c = 0; c < ncols; ++c) {
      AppendVector(duckdb_data_chunk_get_vector(chunk, c), rows, batch.column(c));
    }
    duckdb_destroy_data_chunk(&chunk);
    if (batch.num_rows() >= batch_rows) {
      on_batch(batch);
      batch = Batch(fields);
    }
  }
  if (batch.num_rows() > 0) on_batch(batch);
}

std::string DuckConnection::ScanSelectList(std::string_view relation, std::string_view what) {
  TextRows desc = QueryText(fmt::format("DESCRIBE SELECT * FROM {}", relation), what);
  std::string select;
  for (const auto& row : desc.rows) {
    const std::string name = row[0].value_or("");
    const std::string type = row[1].value_or("");
    std::string q = QuoteIdent(name);
    std::string expr;
    auto starts = [&](std::string_view p) { return type.rfind(p, 0) == 0; };
    if (type == "UTINYINT") {
      expr = fmt::format("CAST({} AS SMALLINT)", q);
    } else if (type == "USMALLINT") {
      expr = fmt::format("CAST({} AS INTEGER)", q);
    } else if (type == "UINTEGER") {
      expr = fmt::format("CAST({} AS BIGINT)", q);
    } else if (type == "UBIGINT") {
      expr = fmt::format("CAST({} AS HUGEINT)", q);
    } else if (type == "TIMESTAMP_S" || type == "TIMESTAMP_MS" || type == "TIMESTAMP_NS") {
      expr = fmt::format("CAST({} AS TIMESTAMP)", q);
    } else if (type.find('[') != std::string::npos || starts("STRUCT") || starts("MAP") ||
               starts("UNION")) {
      expr = fmt::format("CAST(to_json({}) AS JSON)", q);
    } else if (type == "BOOLEAN" || type == "TINYINT" || type == "SMALLINT" || type == "INTEGER" ||
               type == "BIGINT" || type == "HUGEINT" || type == "FLOAT" || type == "DOUBLE" ||
               starts("DECIMAL") || type == "VARCHAR" || type == "JSON" || type == "BLOB" ||
               type == "DATE" || type == "TIME" || type == "TIMESTAMP" ||
               type == "TIMESTAMP WITH TIME ZONE" || type == "UUID") {
      expr = q;
    } else {
      // INTERVAL, TIME WITH TIME ZONE, BIT, ENUM, UHUGEINT, VARINT...: kept as their text form.
      expr = fmt::format("CAST({} AS VARCHAR)", q);
    }
    if (!select.empty()) select += ", ";
    select += expr + " AS " + q;
  }
  return select;
}

// ---------------------------------------------------------------------------------------------
// ParquetStreamWriter

struct ParquetStreamWriter::State {
  Fields fields;
  std::mutex mutex;
  std::condition_variable cv;
  std::deque<std::shared_ptr<const Batch>> queue;
  size_t offset = 0;  // rows of queue.front() already handed to DuckDB
  /// The batch whose strings the last chunk points into (see FillVector): kept until DuckDB asks
  /// for the next chunk, by which time the COPY has copied the last one into its row group.
  std::shared_ptr<const Batch> in_use;
  bool finished = false;
  bool aborted = false;
  std::optional<std::string> error;
  std::thread thread;
  int64_t id = 0;
};

namespace {
constexpr size_t kMaxQueued = 4;

std::mutex g_registry_mutex;
std::map<int64_t, ParquetStreamWriter::State*> g_registry;
std::atomic<int64_t> g_next_id{1};

void StreamBind(duckdb_bind_info info) {
  duckdb_value v = duckdb_bind_get_parameter(info, 0);
  int64_t id = duckdb_get_int64(v);
  duckdb_destroy_value(&v);
  ParquetStreamWriter::State* state = nullptr;
  {
    std::lock_guard lock(g_registry_mutex);
    auto it = g_registry.find(id);
    if (it != g_registry.end()) state = it->second;
  }
  if (state == nullptr) {
    duckdb_bind_set_error(info, "unknown cdlt batch stream");
    return;
  }
  for (const auto& f : state->fields) {
    LogicalType lt = MakeLogicalType(f.type);
    duckdb_bind_add_result_column(info, f.name.c_str(), lt.type);
  }
  duckdb_bind_set_bind_data(info, state, nullptr);
}

void StreamInit(duckdb_init_info info) { duckdb_init_set_max_threads(info, 1); }

void FillVector(duckdb_vector vec, const Column& col, size_t from, size_t n) {
  const ColumnType& t = col.type();
  void* out = duckdb_vector_get_data(vec);
  if (col.has_nulls()) {
    duckdb_vector_ensure_validity_writable(vec);
    uint64_t* validity = duckdb_vector_get_validity(vec);
    for (size_t i = 0; i < n; ++i) {
      if (!col.IsValid(from + i)) duckdb_validity_set_row_invalid(validity, i);
    }
  }
  size_t w = FixedWidth(t.id);
  switch (t.id) {
    case PhysicalType::kText:
    case PhysicalType::kBinary:
    case PhysicalType::kJson: {
      // The chunk points into the batch's own strings (duckdb_string_t is DuckDB's non-owning
      // string) instead of copying each into the vector: the COPY copies every chunk into its
      // row group before it asks for the next one, and the batch outlives that (State::in_use).
      auto* strings = static_cast<duckdb_string_t*>(out);
      for (size_t i = 0; i < n; ++i) {
        if (!col.IsValid(from + i)) continue;
        std::string_view s = col.GetString(from + i);
        duckdb_string_t& d = strings[i];
        if (s.size() <= sizeof(d.value.inlined.inlined)) {
          std::memset(&d, 0, sizeof(d));
          d.value.inlined.length = static_cast<uint32_t>(s.size());
          if (!s.empty()) std::memcpy(d.value.inlined.inlined, s.data(), s.size());
        } else if (s.size() <= std::numeric_limits<uint32_t>::max()) {
          d.value.pointer.length = static_cast<uint32_t>(s.size());
          std::memcpy(d.value.pointer.prefix, s.data(), sizeof(d.value.pointer.prefix));
          d.value.pointer.ptr = const_cast<char*>(s.data());
        } else {
          duckdb_vector_assign_string_element_len(vec, i, s.data(), s.size());
        }
      }
      return;
    }
    case PhysicalType::kDecimal: {
      for (size_t i = 0; i < n; ++i) {
        __int128 v = col.Get<__int128>(from + i);
        uint8_t p = t.precision == 0 ? 38 : t.precision;
        if (p <= 4) {
          static_cast<int16_t*>(out)[i] = static_cast<int16_t>(v);
        } else if (p <= 9) {
          static_cast<int32_t*>(out)[i] = static_cast<int32_t>(v);
        } else if (p <= 18) {
          static_cast<int64_t*>(out)[i] = static_cast<int64_t>(v);
        } else {
          auto& h = static_cast<duckdb_hugeint*>(out)[i];
          h.lower = static_cast<uint64_t>(v);
          h.upper = static_cast<int64_t>(v >> 64);
        }
      }
      return;
    }
    case PhysicalType::kUuid: {
      for (size_t i = 0; i < n; ++i) {
        auto bytes = col.Get<std::array<uint8_t, 16>>(from + i);
        uint64_t upper = 0, lower = 0;
        for (int b = 0; b < 8; ++b) upper = (upper << 8) | bytes[b];
        for (int b = 8; b < 16; ++b) lower = (lower << 8) | bytes[b];
        auto& h = static_cast<duckdb_hugeint*>(out)[i];
        h.upper = static_cast<int64_t>(upper ^ (uint64_t{1} << 63));
        h.lower = lower;
      }
      return;
    }
    default:
      // Fixed-width types share DuckDB's in-memory layout (hugeint is lower, upper on x86-64).
      std::memcpy(out, col.RawData() + from * w, n * w);
      return;
  }
}

void StreamFunction(duckdb_function_info info, duckdb_data_chunk output) {
  auto* state = static_cast<ParquetStreamWriter::State*>(duckdb_function_get_bind_data(info));
  std::shared_ptr<const Batch> batch;
  size_t from = 0;
  {
    std::unique_lock lock(state->mutex);
    state->cv.wait(lock,
                   [&] { return !state->queue.empty() || state->finished || state->aborted; });
    state->in_use.reset();  // DuckDB is done with the last chunk
    if (state->aborted) {
      duckdb_function_set_error(info, "write aborted");
      return;
    }
    if (state->queue.empty()) {
      duckdb_data_chunk_set_size(output, 0);
      return;
    }
    batch = state->queue.front();
    from = state->offset;
  }
  state->in_use = batch;
  size_t n = std::min<size_t>(batch->num_rows() - from, duckdb_vector_size());
  for (size_t c = 0; c < batch->num_columns(); ++c) {
    FillVector(duckdb_data_chunk_get_vector(output, c), batch->column(c), from, n);
  }
  duckdb_data_chunk_set_size(output, n);
  {
    std::lock_guard lock(state->mutex);
    state->offset += n;
    if (state->offset >= batch->num_rows()) {
      state->queue.pop_front();
      state->offset = 0;
      state->cv.notify_all();
    }
  }
}

/// The scratch database that runs the Parquet COPYs: in memory, one thread, so every COPY runs
/// on its writer's own thread and a blocked table function never starves another query.
/// It stays open while a writer or a ParquetWriterSession holds it.
std::mutex g_writer_db_mutex;
std::weak_ptr<DuckDatabase> g_writer_db;

std::shared_ptr<DuckDatabase> WriterDatabase() {
  std::lock_guard lock(g_writer_db_mutex);
  std::shared_ptr<DuckDatabase> db = g_writer_db.lock();
  if (!db) {
    db = DuckDatabase::Open(":memory:", DuckOptions{1, ""}, ErrorKind::kIo);
    g_writer_db = db;
    DuckConnection con(db, ErrorKind::kIo);
    // DuckDB caps a row group by bytes only without insertion order; with one thread and a
    // table function of one thread the rows still reach the file in the order they came.
    con.Execute("SET preserve_insertion_order = false", "configuring the Parquet writer");
    duckdb_table_function fn = duckdb_create_table_function();
    duckdb_table_function_set_name(fn, "cdlt_batch_stream");
    LogicalType bigint(duckdb_create_logical_type(DUCKDB_TYPE_BIGINT));
    duckdb_table_function_add_parameter(fn, bigint.type);
    duckdb_table_function_set_bind(fn, StreamBind);
    duckdb_table_function_set_init(fn, StreamInit);
    duckdb_table_function_set_function(fn, StreamFunction);
    duckdb_state st =
        duckdb_register_table_function(reinterpret_cast<duckdb_connection>(con.handle()), fn);
    duckdb_destroy_table_function(&fn);
    CDLT_ASSERT(st == DuckDBSuccess, "registering cdlt_batch_stream");
  }
  return db;
}

}  // namespace

ParquetWriterSession::ParquetWriterSession() : db_(WriterDatabase()) {}
ParquetWriterSession::~ParquetWriterSession() = default;

bool ParquetWriterDatabaseIsOpen() {
  std::lock_guard lock(g_writer_db_mutex);
  return !g_writer_db.expired();
}

ParquetStreamWriter::ParquetStreamWriter(std::string path, Fields fields, std::string compression)
    : path_(std::move(path)), state_(std::make_unique<State>()) {
  state_->fields = std::move(fields);
  state_->id = g_next_id++;
  {
    std::lock_guard lock(g_registry_mutex);
    g_registry[state_->id] = state_.get();
  }
  auto db = WriterDatabase();
  // zstd at level 1 rather than DuckDB's default 3: these files are read once, by the load
  // stage, and level 3 cost about a third of the CPU time of writing them.
  std::string level = compression == "zstd" ? ", COMPRESSION_LEVEL 1" : "";
  // DuckDB holds a row group in memory until it writes it: 8MB keeps wide rows (the root rows
  // of ~1 KB JSON documents: ~13k rows) from holding 32768 rows each, a third of normalize's peak
  // RSS.
  std::string sql = fmt::format(
      "COPY (SELECT * FROM cdlt_batch_stream({})) TO {} (FORMAT parquet, COMPRESSION {}{}, "
      "ROW_GROUP_SIZE 32768, ROW_GROUP_SIZE_BYTES '8MB')",
      state_->id, QuoteLiteral(path_), compression, level);
  State* state = state_.get();
  state_->thread = std::thread([state, db, sql] {
    try {
      DuckConnection con(db, ErrorKind::kIo);
      con.Execute(sql);
    } catch (const std::exception& e) {
      std::lock_guard lock(state->mutex);
      state->error = e.what();
      state->aborted = true;
      state->queue.clear();
      state->cv.notify_all();
    }
  });
}

void ParquetStreamWriter::Write(std::shared_ptr<const Batch> batch) {
  if (batch->num_rows() == 0) return;
  std::unique_lock lock(state_->mutex);
  state_->cv.wait(lock, [&] { return state_->queue.size() < kMaxQueued || state_->aborted; });
  if (state_->aborted) {
    throw Error(ErrorKind::kIo, fmt::format("writing Parquet file {}: {}", path_,
                                            state_->error.value_or("aborted")));
  }
  state_->queue.push_back(std::move(batch));
  state_->cv.notify_all();
}

void ParquetStreamWriter::Close() {
  if (!state_ || !state_->thread.joinable()) return;
  {
    std::lock_guard lock(state_->mutex);
    state_->finished = true;
    state_->cv.notify_all();
  }
  state_->thread.join();
  {
    std::lock_guard lock(g_registry_mutex);
    g_registry.erase(state_->id);
  }
  if (state_->error) {
    throw Error(ErrorKind::kIo, fmt::format("writing Parquet file {}: {}", path_, *state_->error));
  }
}

ParquetStreamWriter::~ParquetStreamWriter() {
  if (!state_ || !state_->thread.joinable()) return;
  {
    // Destroyed without Close(): an error unwound the writer; stop the COPY and drop the file.
    std::lock_guard lock(state_->mutex);
    state_->aborted = true;
    state_->cv.notify_all();
  }
  state_->thread.join();
  {
    std::lock_guard lock(g_registry_mutex);
    g_registry.erase(state_->id);
  }
  std::error_code ec;
  std::filesystem::remove(path_, ec);
}

// ---------------------------------------------------------------------------------------------

std::string QuoteLiteral(std::string_view value) {
  std::string out = "'";
  for (char c : value) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

}  // namespace cdlt::db
