// Unit tests of the sql_database pieces that need no server: URL parsing, the type plan and the
// binary COPY decoder (fed with hand-built wire data).

#include <gtest/gtest.h>

#include <cstring>

#include "db/pg_conn.hpp"
#include "helpers/test_util.hpp"
#include "sources/sql_database/copy_decoder.hpp"
#include "sources/sql_database/pg_types.hpp"

namespace cdlt::sources::sql_database {
namespace {

// ---------------------------------------------------------------------------------------------
// Credentials

TEST(PgCredentials, ParsesUrlsAndNeverDescribesThePassword) {
  db::PgCredentials c = db::PgCredentials::FromUrl(
      "postgresql+psycopg2://loader:p%40ss%3Aw0rd@db.example.com:6543/analytics?sslmode=require",
      "key");
  EXPECT_EQ(c.username, "loader");
  EXPECT_EQ(c.password.Reveal(), "p@ss:w0rd");
  EXPECT_EQ(c.host, "db.example.com");
  EXPECT_EQ(c.port, 6543);
  EXPECT_EQ(c.database, "analytics");
  EXPECT_EQ(c.query.at("sslmode"), "require");
  EXPECT_EQ(c.Describe(), "postgresql://loader@db.example.com:6543/analytics");
  EXPECT_EQ(fmt::format("{}", c.password), "***");

  db::PgCredentials v6 = db::PgCredentials::FromUrl("postgres://u@[::1]/d", "key");
  EXPECT_EQ(v6.host, "::1");
  EXPECT_EQ(v6.port, 5432);
  EXPECT_TRUE(v6.password.empty());
}

TEST(PgCredentials, BadUrlsNameTheKeyWithoutThePassword) {
  EXPECT_CDLT_ERROR(db::PgCredentials::FromUrl("mysql://u:secret1@h/d", "config key X"),
                    ErrorKind::kConfig, "unsupported database driver");
  EXPECT_CDLT_ERROR(db::PgCredentials::FromUrl("postgresql://u:secret1@h:99999/d", "config key X"),
                    ErrorKind::kConfig, "config key X: bad port");
  try {
    db::PgCredentials::FromUrl("postgresql://u:secret1@h:x/d", "config key X");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).find("secret1"), std::string::npos) << e.what();
  }
  EXPECT_CDLT_ERROR(db::PgCredentials::FromUrl("localhost:5432", "config key X"),
                    ErrorKind::kConfig, "expected a URL");
}

TEST(PgQuote, QuotesIdentifiersAndLiterals) {
  EXPECT_EQ(db::QuoteIdent("we\"ird"), "\"we\"\"ird\"");
  EXPECT_EQ(db::PgQuoteLiteral("it's"), "'it''s'");
  EXPECT_EQ(db::PgQuoteLiteral("a\\b"), "E'a\\\\b'");
}

// ---------------------------------------------------------------------------------------------
// Type plan

PgColumnInfo Col(std::string type, int32_t typmod = -1, char typtype = 'b', char category = 'N') {
  PgColumnInfo c;
  c.name = "c";
  c.base_type = std::move(type);
  c.declared = c.base_type;
  c.typmod = typmod;
  c.typtype = typtype;
  c.typcategory = category;
  return c;
}

int32_t NumericTypmod(int precision, int scale) {
  return ((precision << 16) | (scale & 0x7ff)) + 4;
}

TEST(PgTypes, MapsTypesAndCastsTheRestToText) {
  std::string warning;
  auto plan = [&](const PgColumnInfo& c, ReflectionLevel level = ReflectionLevel::kFull) {
    warning.clear();
    return PlanColumn(c, level, nullptr, &warning);
  };
  EXPECT_EQ(plan(Col("int2")).field.type.id, PhysicalType::kInt64);
  EXPECT_EQ(plan(Col("int2"), ReflectionLevel::kFullWithPrecision).field.type.id,
            PhysicalType::kInt16);
  EXPECT_EQ(plan(Col("int4"), ReflectionLevel::kFullWithPrecision).field.type.id,
            PhysicalType::kInt32);
  PgColumnPlan n = plan(Col("numeric", NumericTypmod(12, 3)));
  EXPECT_EQ(n.field.type, (ColumnType{PhysicalType::kDecimal, 12, 3}));
  EXPECT_EQ(plan(Col("numeric")).field.type, (ColumnType{PhysicalType::kDecimal, 38, 9}));
  // PostgreSQL 15's negative scale: whole numbers of p - s digits.
  EXPECT_EQ(plan(Col("numeric", NumericTypmod(5, -2))).field.type,
            (ColumnType{PhysicalType::kDecimal, 7, 0}));
  PgColumnPlan wide = plan(Col("numeric", NumericTypmod(50, 5)));
  EXPECT_EQ(wide.field.type.id, PhysicalType::kText);
  EXPECT_NE(warning.find("more digits than DuckDB"), std::string::npos);
  EXPECT_EQ(plan(Col("_int4", -1, 'b', 'A')).field.type.id, PhysicalType::kJson);
  EXPECT_EQ(plan(Col("_int4", -1, 'b', 'A')).select_expr, "to_json(\"c\")");
  EXPECT_EQ(plan(Col("mood", -1, 'e')).decode, PgDecode::kText);
  PgColumnPlan inet = plan(Col("inet"));
  EXPECT_EQ(inet.field.type.id, PhysicalType::kText);
  EXPECT_TRUE(warning.empty()) << warning;
  PgColumnPlan point = plan(Col("point"));
  EXPECT_EQ(point.field.type.id, PhysicalType::kText);
  EXPECT_NE(warning.find("type point has no native mapping"), std::string::npos);
  PgColumnPlan vc = plan(Col("varchar", 14), ReflectionLevel::kFullWithPrecision);
  EXPECT_EQ(vc.text_precision, 10);
}

TEST(PgTypes, ColumnHintsDecideHowAColumnIsRead) {
  std::string warning;
  ColumnHint hint;
  hint.name = "c";
  hint.data_type = "decimal";
  hint.precision = 30;
  hint.scale = 12;
  PgColumnPlan plan = PlanColumn(Col("numeric"), ReflectionLevel::kFull, &hint, &warning);
  EXPECT_EQ(plan.field.type, (ColumnType{PhysicalType::kDecimal, 30, 12}));
  hint.data_type = "text";
  plan = PlanColumn(Col("numeric"), ReflectionLevel::kFull, &hint, &warning);
  EXPECT_EQ(plan.field.type.id, PhysicalType::kText);
  hint.data_type = "decimal";
  hint.precision = 40;
  plan = PlanColumn(Col("numeric"), ReflectionLevel::kFull, &hint, &warning);
  EXPECT_EQ(plan.field.type.id, PhysicalType::kText);
  EXPECT_NE(warning.find("reading the column as text"), std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// Numeric decoding

/// The binary form of a numeric given as base-10000 digits.
std::string NumericWire(std::vector<int16_t> digits, int16_t weight, uint16_t sign,
                        int16_t dscale) {
  std::string out;
  auto put16 = [&](uint16_t v) {
    out.push_back(static_cast<char>(v >> 8));
    out.push_back(static_cast<char>(v & 0xff));
  };
  put16(static_cast<uint16_t>(digits.size()));
  put16(static_cast<uint16_t>(weight));
  put16(sign);
  put16(static_cast<uint16_t>(dscale));
  for (int16_t d : digits) put16(static_cast<uint16_t>(d));
  return out;
}

std::string Decode(const std::string& wire, int precision, int scale, bool* rounded = nullptr) {
  __int128 v = 0;
  bool special = false, r = false;
  if (!DecodeNumeric(reinterpret_cast<const uint8_t*>(wire.data()),
                     static_cast<int32_t>(wire.size()), precision, scale, &v, &special, &r)) {
    return special ? "special" : "overflow";
  }
  if (rounded) *rounded = r;
  bool neg = v < 0;
  unsigned __int128 u =
      neg ? static_cast<unsigned __int128>(-v) : static_cast<unsigned __int128>(v);
  std::string digits;
  do {
    digits.insert(digits.begin(), static_cast<char>('0' + static_cast<int>(u % 10)));
    u /= 10;
  } while (u);
  return (neg ? "-" : "") + digits;
}

TEST(DecodeNumeric, ScalesRoundsAndRejects) {
  // 12345.678 = digits [1, 2345, 6780], weight 1
  std::string v = NumericWire({1, 2345, 6780}, 1, 0, 3);
  EXPECT_EQ(Decode(v, 10, 3), "12345678");
  EXPECT_EQ(Decode(v, 10, 5), "1234567800");
  bool rounded = false;
  EXPECT_EQ(Decode(v, 10, 2, &rounded), "1234568");  // 12345.68
  EXPECT_TRUE(rounded);
  EXPECT_EQ(Decode(v, 10, 0, &rounded), "12346");
  EXPECT_EQ(Decode(v, 4, 0), "overflow");
  // -0.000000001 = digits [1000], weight -3 (0.0000 0000 1000), dscale 9
  std::string tiny = NumericWire({1000}, -3, 0x4000, 9);
  EXPECT_EQ(Decode(tiny, 38, 9), "-1");
  EXPECT_EQ(Decode(tiny, 38, 8, &rounded), "0");
  EXPECT_TRUE(rounded);
  // 0.5 rounds half away from zero at scale 0.
  EXPECT_EQ(Decode(NumericWire({5000}, -1, 0, 1), 5, 0), "1");
  EXPECT_EQ(Decode(NumericWire({5000}, -1, 0x4000, 1), 5, 0), "-1");
  EXPECT_EQ(Decode(NumericWire({4999}, -1, 0, 4), 5, 0), "0");
  // 38 nines fit decimal(38, 0), 39 do not.
  std::vector<int16_t> nines(9, 9999);
  nines.insert(nines.begin(), 99);
  EXPECT_EQ(Decode(NumericWire(nines, 9, 0, 0), 38, 0), std::string(38, '9'));
  nines.front() = 999;
  EXPECT_EQ(Decode(NumericWire(nines, 9, 0, 0), 38, 0), "overflow");
  // Zero has no digits.
  EXPECT_EQ(Decode(NumericWire({}, 0, 0, 2), 10, 2), "0");
  EXPECT_EQ(Decode(NumericWire({}, 0, 0xC000, 0), 10, 2), "special");  // NaN
  EXPECT_EQ(Decode(NumericWire({}, 0, 0xD000, 0), 10, 2), "special");  // +Infinity
}

// ---------------------------------------------------------------------------------------------
// COPY stream decoding

class Wire {
 public:
  Wire& Header() {
    out_.append("PGCOPY\n\377\r\n", 11);
    Int32(0);
    Int32(0);
    return *this;
  }
  Wire& Row(int16_t fields) { return Int16(fields); }
  Wire& Null() { return Int32(-1); }
  Wire& Value(const std::string& bytes) {
    Int32(static_cast<int32_t>(bytes.size()));
    out_ += bytes;
    return *this;
  }
  Wire& Int16(int16_t v) {
    out_.push_back(static_cast<char>(static_cast<uint16_t>(v) >> 8));
    out_.push_back(static_cast<char>(v & 0xff));
    return *this;
  }
  Wire& Int32(int32_t v) {
    for (int s = 24; s >= 0; s -= 8) out_.push_back(static_cast<char>((v >> s) & 0xff));
    return *this;
  }
  static std::string Be64(int64_t v) {
    std::string s;
    for (int b = 56; b >= 0; b -= 8) s.push_back(static_cast<char>((v >> b) & 0xff));
    return s;
  }
  static std::string Be32(int32_t v) {
    std::string s;
    for (int b = 24; b >= 0; b -= 8) s.push_back(static_cast<char>((v >> b) & 0xff));
    return s;
  }
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

PgColumnPlan PlanOf(const std::string& name, PgDecode decode, PhysicalType type) {
  PgColumnPlan p;
  p.name = name;
  p.decode = decode;
  p.field = Field{name, ColumnType{type}, true};
  return p;
}

TEST(CopyDecoder, DecodesRowsIntoBatchesOfChunkSize) {
  std::vector<PgColumnPlan> plan = {
      PlanOf("id", PgDecode::kInt32As64, PhysicalType::kInt64),
      PlanOf("name", PgDecode::kText, PhysicalType::kText),
      PlanOf("at", PgDecode::kTimestampTz, PhysicalType::kTimestampTz),
      PlanOf("day", PgDecode::kDate, PhysicalType::kDate)};
  std::vector<Batch> batches;
  CopyDecoder decoder(plan, 2, "table public.t", [&](Batch b) {
    batches.push_back(std::move(b));
    return true;
  });
  Wire first;
  first.Header()
      .Row(4)
      .Value(Wire::Be32(7))
      .Value("seven")
      .Value(Wire::Be64(0))
      .Value(Wire::Be32(0));
  std::string msg = first.Take();
  ASSERT_TRUE(decoder.Feed(msg.data(), msg.size()));
  for (int i = 0; i < 2; ++i) {
    Wire row;
    row.Row(4).Value(Wire::Be32(8 + i)).Null().Null().Value(Wire::Be32(0x7fffffff));
    msg = row.Take();
    ASSERT_TRUE(decoder.Feed(msg.data(), msg.size()));
  }
  Wire trailer;
  trailer.Int16(-1);
  msg = trailer.Take();
  ASSERT_TRUE(decoder.Feed(msg.data(), msg.size()));
  ASSERT_TRUE(decoder.Finish());
  ASSERT_EQ(batches.size(), 2u);
  EXPECT_EQ(batches[0].num_rows(), 2u);
  EXPECT_EQ(batches[1].num_rows(), 1u);
  EXPECT_EQ(batches[0].column(0).Get<int64_t>(0), 7);
  EXPECT_EQ(batches[0].column(1).GetString(0), "seven");
  // PostgreSQL's epoch is 2000-01-01.
  EXPECT_EQ(batches[0].column(2).Get<int64_t>(0), 946684800000000LL);
  EXPECT_EQ(batches[0].column(3).Get<int32_t>(0), 10957);
  EXPECT_FALSE(batches[0].column(1).IsValid(1));
  // 'infinity' stays infinity.
  EXPECT_EQ(batches[1].column(3).Get<int32_t>(0), 0x7fffffff);
  EXPECT_EQ(decoder.rows(), 3);
}

TEST(CopyDecoder, MalformedDataNamesTableAndColumn) {
  std::vector<PgColumnPlan> plan = {PlanOf("id", PgDecode::kInt64, PhysicalType::kInt64)};
  CopyDecoder decoder(plan, 10, "table public.t in postgresql://u@h:1/d",
                      [](Batch) { return true; });
  Wire w;
  w.Header().Row(1).Value(Wire::Be32(1));  // 4 bytes for an int8
  std::string msg = w.Take();
  EXPECT_CDLT_ERROR(decoder.Feed(msg.data(), msg.size()), ErrorKind::kSource,
                    "cannot decode column id (int64) of table public.t in postgresql://u@h:1/d: "
                    "expected 8 bytes, got 4");
  CopyDecoder other(plan, 10, "table public.t", [](Batch) { return true; });
  std::string bad = "NOTCOPY";
  EXPECT_CDLT_ERROR(other.Feed(bad.data(), bad.size()), ErrorKind::kSource,
                    "unexpected COPY header from table public.t");
  CopyDecoder third(plan, 10, "table public.t", [](Batch) { return true; });
  Wire two;
  two.Header().Row(2).Null().Null();
  msg = two.Take();
  EXPECT_CDLT_ERROR(third.Feed(msg.data(), msg.size()), ErrorKind::kSource,
                    "has 2 fields, expected 1");
}

TEST(CopyDecoder, StopsWhenTheEmitterSaysSo) {
  std::vector<PgColumnPlan> plan = {PlanOf("id", PgDecode::kInt64, PhysicalType::kInt64)};
  int emitted = 0;
  CopyDecoder decoder(plan, 1, "t", [&](Batch) { return ++emitted < 2; });
  Wire w;
  w.Header();
  std::string msg = w.Take();
  ASSERT_TRUE(decoder.Feed(msg.data(), msg.size()));
  bool go_on = true;
  for (int i = 0; i < 5 && go_on; ++i) {
    Wire row;
    row.Row(1).Value(Wire::Be64(i));
    msg = row.Take();
    go_on = decoder.Feed(msg.data(), msg.size());
  }
  EXPECT_FALSE(go_on);
  EXPECT_EQ(emitted, 2);
}

}  // namespace
}  // namespace cdlt::sources::sql_database
