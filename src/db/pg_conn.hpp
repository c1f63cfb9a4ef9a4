#pragma once

// RAII wrapper over libpq. Only src/db/ includes libpq-fe.h; the rest of cdlt talks to this class,
// which turns libpq's error states into cdlt::Error naming the database and the object at fault
// and never prints a password.

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "common/secret.hpp"
#include "db/sql_quote.hpp"

struct pg_conn;

namespace cdlt::db {

/// Where to connect. Built from a postgresql:// URL or from fields (dlt's credentials shape).
struct PgCredentials {
  std::string host = "localhost";
  int port = 5432;
  std::string database;
  std::string username;
  Secret<std::string> password;
  int connect_timeout = 15;                  ///< seconds
  std::map<std::string, std::string> query;  ///< extra URL query parameters (sslmode, ...)

  /// Parse `postgresql://user:password@host:port/database?sslmode=...` (also postgres://, and
  /// the `postgresql+psycopg2://` style of SQLAlchemy URLs). Bad URLs throw Error(kConfig)
  /// naming `what` and never echoing the password.
  static PgCredentials FromUrl(std::string_view url, std::string_view what);
  /// `postgresql://user@host:port/database`, with the password left out: safe for messages.
  std::string Describe() const;
};

/// Rows of a small result as text (NULL = nullopt).
struct PgRows {
  std::vector<std::string> columns;
  std::vector<std::vector<std::optional<std::string>>> rows;
};

/// One PostgreSQL connection; not thread-safe, use one per thread.
class PgConnection {
 public:
  /// Connects (bounded by credentials.connect_timeout) and sets client_encoding UTF8,
  /// DateStyle ISO, IntervalStyle iso_8601 and TimeZone UTC. Failure throws Error(kSource) naming
  /// the server and database; network failures are transient, authentication failures terminal.
  explicit PgConnection(const PgCredentials& credentials);
  ~PgConnection();
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  /// Run a statement without rows (BEGIN, SET ...). `what` names the object for errors.
  void Execute(std::string_view sql, std::string_view what = {});
  /// Run a query with text parameters ($1, $2, ...) and return the rows as text.
  PgRows Query(std::string_view sql, const std::vector<std::string>& params = {},
               std::string_view what = {});
  /// Run `COPY (...) TO STDOUT (FORMAT binary)` and hand every CopyData message to `on_data`
  /// (one row per message, the first also holding the header). Returning false from `on_data`
  /// cancels the COPY (the rest is drained and discarded).
  void CopyOut(std::string_view sql, const std::function<bool(const char*, size_t)>& on_data,
               std::string_view what = {});

  /// Cancel the statement running on this connection (may be called from another thread).
  void Cancel();

  /// SQLSTATE of the last error raised by this connection, empty when none.
  const std::string& last_sqlstate() const { return last_sqlstate_; }
  /// `postgresql://user@host:port/database` (no password).
  const std::string& describe() const { return describe_; }

 private:
  [[noreturn]] void ThrowResultError(void* result, std::string_view sql, std::string_view what);

  pg_conn* conn_ = nullptr;
  std::string describe_;
  std::string last_sqlstate_;
};

/// Quote a string literal ('it''s'), with E'' form when it holds a backslash.
std::string PgQuoteLiteral(std::string_view value);

}  // namespace cdlt::db
