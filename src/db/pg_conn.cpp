#include "db/pg_conn.hpp"

#include <fmt/format.h>
#include <libpq-fe.h>

#include <charconv>
#include <memory>
#include <optional>
#include <utility>

#include "common/text.hpp"

namespace cdlt::db {
namespace {

std::string TrimMessage(const char* message) {
  std::string text = message == nullptr ? "" : message;
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  // libpq prefixes server messages with their severity; keep it, it helps ("FATAL: ...").
  return text;
}

// A percent-decoded part of the credentials URL; `part` names it in the error.
std::string DecodeUrlPart(std::string_view text, std::string_view what, std::string_view part) {
  std::optional<std::string> decoded = PercentDecode(text, BadPercentEscape::kReject);
  if (!decoded) Throw(ErrorKind::kConfig, "{}: bad percent-encoding in the URL's {}", what, part);
  return std::move(*decoded);
}

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using ResultPtr = std::unique_ptr<PGresult, ResultDeleter>;

}  // namespace

PgCredentials PgCredentials::FromUrl(std::string_view url, std::string_view what) {
  PgCredentials c;
  size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) {
    Throw(ErrorKind::kConfig,
          "{}: expected a URL such as postgresql://user:password@host:5432/database", what);
  }
  std::string_view scheme = url.substr(0, scheme_end);
  std::string_view driver = scheme.substr(0, scheme.find('+'));
  if (driver != "postgresql" && driver != "postgres") {
    Throw(ErrorKind::kConfig,
          "{}: unsupported database driver \"{}\" (this source reads PostgreSQL: "
          "postgresql://...)",
          what, scheme);
  }
  std::string_view rest = url.substr(scheme_end + 3);
  std::string_view query;
  if (size_t q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  std::string_view path;
  if (size_t slash = rest.find('/'); slash != std::string_view::npos) {
    path = rest.substr(slash + 1);
    rest = rest.substr(0, slash);
  }
  if (size_t at = rest.rfind('@'); at != std::string_view::npos) {
    std::string_view userinfo = rest.substr(0, at);
    rest = rest.substr(at + 1);
    if (size_t colon = userinfo.find(':'); colon != std::string_view::npos) {
      c.username = DecodeUrlPart(userinfo.substr(0, colon), what, "user name");
      c.password = Secret<std::string>(DecodeUrlPart(userinfo.substr(colon + 1), what, "password"));
    } else {
      c.username = DecodeUrlPart(userinfo, what, "user name");
    }
  }
  std::string_view host = rest;
  if (!host.empty() && host.front() == '[') {  // [ipv6]:port
    size_t close = host.find(']');
    if (close == std::string_view::npos) Throw(ErrorKind::kConfig, "{}: bad IPv6 host", what);
    std::string_view after = host.substr(close + 1);
    host = host.substr(1, close - 1);
    if (!after.empty()) {
      if (after.front() != ':') Throw(ErrorKind::kConfig, "{}: bad host:port", what);
      rest = after.substr(1);
    } else {
      rest = {};
    }
  } else if (size_t colon = host.rfind(':'); colon != std::string_view::npos) {
    rest = host.substr(colon + 1);
    host = host.substr(0, colon);
  } else {
    rest = {};
  }
  if (!host.empty()) c.host = DecodeUrlPart(host, what, "host");
  if (!rest.empty()) {
    int port = 0;
    auto [ptr, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), port);
    if (ec != std::errc() || ptr != rest.data() + rest.size() || port <= 0 || port > 65535) {
      Throw(ErrorKind::kConfig, "{}: bad port \"{}\" in the URL", what, rest);
    }
    c.port = port;
  }
  c.database = DecodeUrlPart(path, what, "database");
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view item = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (item.empty()) continue;
    size_t eq = item.find('=');
    std::string key = DecodeUrlPart(item.substr(0, eq), what, "query");
    std::string value =
        eq == std::string_view::npos ? "" : DecodeUrlPart(item.substr(eq + 1), what, "query");
    if (key == "connect_timeout") {
      c.connect_timeout = std::atoi(value.c_str());
    } else if (key == "password") {
      c.password = Secret<std::string>(value);
    } else {
      c.query[key] = value;
    }
  }
  return c;
}

std::string PgCredentials::Describe() const {
  std::string host_part = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return fmt::format("postgresql://{}{}{}:{}/{}", username, username.empty() ? "" : "@", host_part,
                     port, database);
}

PgConnection::PgConnection(const PgCredentials& credentials) : describe_(credentials.Describe()) {
  std::vector<std::pair<std::string, std::string>> params = {
      {"host", credentials.host},
      {"port", std::to_string(credentials.port)},
      {"dbname", credentials.database},
      {"user", credentials.username},
      {"connect_timeout", std::to_string(credentials.connect_timeout)},
      {"client_encoding", "UTF8"},
      {"application_name", "cdlt"},
      {"options", "-c DateStyle=ISO -c IntervalStyle=iso_8601 -c TimeZone=UTC"},
  };
  if (!credentials.password.empty()) params.emplace_back("password", credentials.password.Reveal());
  for (const auto& [key, value] : credentials.query) params.emplace_back(key, value);
  std::vector<const char*> keys, values;
  for (const auto& [key, value] : params) {
    if (key == "dbname" && value.empty()) continue;
    if (key == "user" && value.empty()) continue;
    keys.push_back(key.c_str());
    values.push_back(value.c_str());
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);
  conn_ = PQconnectdbParams(keys.data(), values.data(), 0);
  if (conn_ == nullptr) Throw(ErrorKind::kInternal, "libpq could not allocate a connection");
  if (PQstatus(conn_) != CONNECTION_OK) {
    std::string message = TrimMessage(PQerrorMessage(conn_));
    // Never echo what the server may quote back from the connection string.
    if (!credentials.password.empty()) {
      const std::string& secret = credentials.password.Reveal();
      for (size_t at = message.find(secret); at != std::string::npos;
           at = message.find(secret, at)) {
        message.replace(at, secret.size(), "***");
      }
    }
    bool auth = message.find("password") != std::string::npos ||
                message.find("authentication") != std::string::npos ||
                message.find("does not exist") != std::string::npos ||
                message.find("permission denied") != std::string::npos;
    PQfinish(conn_);
    conn_ = nullptr;
    throw Error(ErrorKind::kSource, fmt::format("cannot connect to {}: {}", describe_, message),
                auth ? Retry::kTerminal : Retry::kTransient);
  }
}

PgConnection::~PgConnection() {
  if (conn_ != nullptr) PQfinish(conn_);
}

void PgConnection::ThrowResultError(void* result, std::string_view sql, std::string_view what) {
  auto* r = static_cast<PGresult*>(result);
  const char* state = r == nullptr ? nullptr : PQresultErrorField(r, PG_DIAG_SQLSTATE);
  last_sqlstate_ = state == nullptr ? "" : state;
  std::string message = TrimMessage(r == nullptr ? PQerrorMessage(conn_) : PQresultErrorMessage(r));
  if (message.empty()) message = TrimMessage(PQerrorMessage(conn_));
  bool lost = PQstatus(conn_) != CONNECTION_OK || last_sqlstate_.starts_with("08") ||
              last_sqlstate_ == "40001" || last_sqlstate_ == "57P01";
  std::string where = what.empty() ? std::string(sql.substr(0, 200)) : std::string(what);
  throw Error(ErrorKind::kSource, fmt::format("{} ({}): {}", where, describe_, message),
              lost ? Retry::kTransient : Retry::kTerminal);
}

void PgConnection::Execute(std::string_view sql, std::string_view what) {
  std::string text(sql);
  ResultPtr r(PQexec(conn_, text.c_str()));
  ExecStatusType status = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    ThrowResultError(r.get(), sql, what);
  }
}

PgRows PgConnection::Query(std::string_view sql, const std::vector<std::string>& params,
                           std::string_view what) {
  std::string text(sql);
  std::vector<const char*> values;
  for (const auto& p : params) values.push_back(p.c_str());
  ResultPtr r(PQexecParams(conn_, text.c_str(), static_cast<int>(values.size()), nullptr,
                           values.data(), nullptr, nullptr, 0));
  if (!r || PQresultStatus(r.get()) != PGRES_TUPLES_OK) ThrowResultError(r.get(), sql, what);
  PgRows out;
  int ncols = PQnfields(r.get());
  int nrows = PQntuples(r.get());
  for (int c = 0; c < ncols; ++c) out.columns.emplace_back(PQfname(r.get(), c));
  out.rows.reserve(static_cast<size_t>(nrows));
  for (int i = 0; i < nrows; ++i) {
    std::vector<std::optional<std::string>> row;
    row.reserve(static_cast<size_t>(ncols));
    for (int c = 0; c < ncols; ++c) {
      if (PQgetisnull(r.get(), i, c)) {
        row.emplace_back(std::nullopt);
      } else {
        row.emplace_back(std::string(PQgetvalue(r.get(), i, c),
                                     static_cast<size_t>(PQgetlength(r.get(), i, c))));
      }
    }
    out.rows.push_back(std::move(row));
  }
  return out;
}

void PgConnection::CopyOut(std::string_view sql,
                           const std::function<bool(const char*, size_t)>& on_data,
                           std::string_view what) {
  std::string text(sql);
  ResultPtr start(PQexec(conn_, text.c_str()));
  if (!start || PQresultStatus(start.get()) != PGRES_COPY_OUT) {
    ThrowResultError(start.get(), sql, what);
  }
  bool cancelled = false;
  for (;;) {
    char* buffer = nullptr;
    int n = PQgetCopyData(conn_, &buffer, 0);
    if (n > 0) {
      bool go_on = true;
      if (!cancelled) {
        try {
          go_on = on_data(buffer, static_cast<size_t>(n));
        } catch (...) {
          PQfreemem(buffer);
          Cancel();
          // Drain so the connection stays usable for the caller's cleanup.
          char* rest = nullptr;
          while (PQgetCopyData(conn_, &rest, 0) > 0) PQfreemem(rest);
          while (PGresult* r = PQgetResult(conn_)) PQclear(r);
          throw;
        }
      }
      PQfreemem(buffer);
      if (!go_on && !cancelled) {
        cancelled = true;
        Cancel();
      }
      continue;
    }
    if (n == -1) break;                    // COPY done
    ThrowResultError(nullptr, sql, what);  // -2: error
  }
  // The final result tells whether the COPY succeeded (e.g. a table dropped mid-run).
  bool failed = false;
  ResultPtr failure;
  while (PGresult* r = PQgetResult(conn_)) {
    if (PQresultStatus(r) != PGRES_COMMAND_OK && !failed) {
      failed = true;
      failure.reset(r);
      continue;
    }
    PQclear(r);
  }
  if (failed && !cancelled) ThrowResultError(failure.get(), sql, what);
}

void PgConnection::Cancel() {
  PGcancel* cancel = PQgetCancel(conn_);
  if (cancel == nullptr) return;
  char errbuf[256];
  PQcancel(cancel, errbuf, sizeof errbuf);
  PQfreeCancel(cancel);
}

std::string PgQuoteLiteral(std::string_view value) {
  bool backslash = value.find('\\') != std::string_view::npos;
  std::string out = backslash ? "E'" : "'";
  for (char c : value) {
    if (c == '\'') out.push_back('\'');
    if (c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('\'');
  return out;
}

}  // namespace cdlt::db
