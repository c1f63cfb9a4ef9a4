#include "schema/naming.hpp"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "common/error.hpp"

namespace cdlt::schema {
namespace {

std::string Snake(std::string_view identifier) {
  return MakeNamingConvention("snake_case")->NormalizeIdentifier(identifier);
}

size_t CodePoints(std::string_view text) {
  size_t count = 0;
  for (char c : text) count += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return count;
}

TEST(Naming, SnakeCaseBasicCases) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"Customer ID", "customer_id"},
      {"CamelCase", "camel_case"},
      {"HTTPResponse", "http_response"},
      {"123abc", "_123abc"},
      {"a__b", "a_b"},
      {"trailing_", "trailingx"},
      {"already_snake", "already_snake"},
      {"getHTTPResponseCode", "get_http_response_code"},
      {"ABcDe", "a_bc_de"},
      {"  padded\t", "padded"},
  };
  for (const auto& [input, expected] : cases) EXPECT_EQ(Snake(input), expected) << input;
}

// Non-ASCII letters are not in [A-Za-z0-9_], so each run becomes one '_'.
TEST(Naming, SnakeCaseRemovesNonAsciiLetters) {
  EXPECT_EQ(Snake("\u00dcn\u00efcode"), "_n_code");
  EXPECT_EQ(Snake("stra\u00dfe"), "stra_e");
  EXPECT_EQ(Snake("\u00fc"), "x");
  // Python's \d matches Unicode decimal digits, so they are kept and count as a leading digit.
  EXPECT_EQ(Snake("\u0663abc"), "_\u0663abc");
}

TEST(Naming, SnakeCaseReducedAlphabet) {
  EXPECT_EQ(Snake("a+b"), "axb");
  EXPECT_EQ(Snake("a-b"), "a_b");
  EXPECT_EQ(Snake("a*b"), "axb");
  EXPECT_EQ(Snake("user@host"), "userahost");
  EXPECT_EQ(Snake("a|b"), "alb");
  EXPECT_EQ(Snake("+-*@|"), "x_xal");
  EXPECT_EQ(Snake("!!!"), "x");
}

// Conformance A1 (tests/common/normalizers/test_naming_snake_case.py).
TEST(Naming, SnakeCaseConformanceA1) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"event value", "event_value"},
      {"event-.!:*<>value", "event_x_value"},
      {"1event_n'", "_1event_nx"},
      {"123BaNaNa", "_123_ba_na_na"},
      {"BANANA", "banana"},
      {"BAN_ANA", "ban_ana"},
      {"BANaNA", "ba_na_na"},
      {" Small Love Potion ", "small_love_potion"},
      {"BANANA_", "bananax"},
      {"BANANA____", "bananaxxxx"},
      {"+-!$*@#=|:", "x_xa_lx"},
      {"+1", "x1"},
      {"-1", "_1"},
      {"event__value_value2____", "event_value_value2xxxx"},
  };
  for (const auto& [input, expected] : cases) EXPECT_EQ(Snake(input), expected) << input;
}

// Conformance A3 (test_normalize_path).
TEST(Naming, SnakeCaseNormalizePathConformanceA3) {
  auto naming = MakeNamingConvention("snake_case");
  EXPECT_EQ(naming->NormalizePath("Small__Love__Potion"), "small__love__potion");
  EXPECT_EQ(naming->NormalizePath("Small  Love  Potion"), "small_love_potion");
  EXPECT_EQ(naming->NormalizePath("Small___Love____Potion_____x"), "small___love__potion___x");
  EXPECT_EQ(naming->NormalizePath("e_vent__value_value2___"), "e_vent__value_value2__x");
  EXPECT_EQ(naming->NormalizeTablePath("Small__Love__Potion"), "small__love__potion");
}

TEST(Naming, EmptyIdentifierIsAnError) {
  try {
    Snake("   ");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kSchema);
    EXPECT_NE(e.message().find("empty identifier"), std::string::npos);
  }
  EXPECT_THROW(Snake(""), Error);
}

TEST(Naming, MakeAndBreakPath) {
  auto naming = MakeNamingConvention("snake_case");
  EXPECT_EQ(naming->path_separator(), "__");
  EXPECT_EQ(naming->MakePath({"a", "", "b", " ", "c"}), "a__b__c");
  EXPECT_EQ(naming->BreakPath("a__b____c__ __"), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(naming->BreakPath(""), std::vector<std::string>{});
}

TEST(Naming, OtherConventions) {
  auto duck = MakeNamingConvention("duck_case");
  EXPECT_EQ(duck->NormalizeIdentifier("Caf\u00e9 \"x\"\n__y"), "Caf\u00e9 _x_y");
  EXPECT_TRUE(duck->is_case_sensitive());

  auto direct = MakeNamingConvention("direct");
  EXPECT_EQ(direct->path_separator(), "\u25b6");
  EXPECT_EQ(direct->NormalizeIdentifier("It's a \"Name\"\u25b6x"), "It_s a _Name__x");
  EXPECT_EQ(direct->MakePath({"a", "b"}), "a\u25b6b");
  EXPECT_EQ(direct->BreakPath("a\u25b6b"), (std::vector<std::string>{"a", "b"}));

  auto sql_cs = MakeNamingConvention("sql_cs_v1");
  EXPECT_EQ(sql_cs->NormalizeIdentifier("Customer ID__"), "Customer_ID");
  EXPECT_EQ(sql_cs->NormalizeIdentifier("1st  Col"), "_1st_Col");
  EXPECT_TRUE(sql_cs->is_case_sensitive());

  auto sql_ci = MakeNamingConvention("sql_ci_v1");
  EXPECT_EQ(sql_ci->NormalizeIdentifier("Customer ID__"), "customer_id");
  EXPECT_FALSE(sql_ci->is_case_sensitive());

  EXPECT_EQ(MakeNamingConvention("dlt.common.normalizers.naming.snake_case")->name(), "snake_case");
}

TEST(Naming, UnknownConventionListsAllowedNames) {
  try {
    MakeNamingConvention("kebab_case");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kConfig);
    EXPECT_EQ(e.message(),
              "unknown naming convention 'kebab_case': allowed values are snake_case, duck_case, "
              "direct, sql_cs_v1, sql_ci_v1");
  }
}

// Tags checked with `printf %s <original> | openssl dgst -shake128 -xoflen 4 -binary | base64`.
TEST(Naming, IdentifierTagMatchesShake128) {
  EXPECT_EQ(IdentifierTag(
                "a_very_long_column_name_that_goes_on_and_on_and_on_beyond_the_postgres_limit_of_"
                "sixty_three"),
            "w5batq");                                       // w5b/TQ==
  EXPECT_EQ(IdentifierTag("confidence__v_bool"), "evcf0a");  // evCf0A==
}

// Conformance A5: postgres max identifier length 63.
TEST(Naming, ShorteningConformanceA5) {
  auto naming = MakeNamingConvention("snake_case", 63);
  std::string column =
      "a_very_long_column_name_that_goes_on_and_on_and_on_beyond_the_postgres_limit_of_sixty_three";
  std::string shortened = naming->NormalizeIdentifier(column);
  EXPECT_EQ(shortened, "a_very_long_column_name_that_w5batqostgres_limit_of_sixty_three");
  EXPECT_EQ(shortened.size(), 63u);
  // Idempotent: the shortened name is already normal and short enough.
  EXPECT_EQ(naming->NormalizeIdentifier(shortened), shortened);

  std::string table =
      "customers__addresses__geo_coordinates__history__entries_with_very_long_suffix_name";
  std::string short_table = naming->NormalizeTablePath(table);
  EXPECT_EQ(short_table, "customers__addresses__geo_coonfhccgs_with_very_long_suffix_name");
  EXPECT_EQ(short_table.size(), 63u);
  EXPECT_EQ(naming->NormalizeTablePath(short_table), short_table);
}

// Conformance C7: variant column name shortened as fragments, tag of the joined path.
TEST(Naming, ShortenFragmentsConformanceC7) {
  auto naming = MakeNamingConvention("snake_case", 9);
  EXPECT_EQ(naming->ShortenFragments({"confidence", "v_bool"}), "coevcf0al");
}

TEST(Naming, ShorteningUsesTheStrippedOriginal) {
  auto naming = MakeNamingConvention("snake_case", 10);
  // shake128("Some Very Long Identifier Name", 4 bytes) = LID4Nw==
  EXPECT_EQ(naming->NormalizeIdentifier("Some Very Long Identifier Name"), "solid4nwme");
  EXPECT_EQ(naming->NormalizeIdentifier("  Some Very Long Identifier Name "), "solid4nwme");
}

TEST(Naming, ShortenIdentifierProperties) {
  std::string normalized(100, 'a');
  for (size_t max_length : {6u, 7u, 10u, 11u, 63u, 99u}) {
    std::string shortened = ShortenIdentifier(normalized, "original", max_length);
    EXPECT_EQ(shortened.size(), max_length);
    EXPECT_EQ(shortened, ShortenIdentifier(normalized, "original", max_length));
  }
  // The tag depends on the original, not on the normalized text.
  EXPECT_NE(ShortenIdentifier(normalized, "original_1", 20),
            ShortenIdentifier(normalized, "original_2", 20));
  // Head gets the odd character: r = 7 → 4 head, 3 tail.
  std::string abc = "abcdefghijklmnopqrstuvwxyz";
  std::string shortened = ShortenIdentifier(abc, abc, 13);
  EXPECT_EQ(shortened.substr(0, 4), "abcd");
  EXPECT_EQ(shortened.substr(10), "xyz");
  EXPECT_EQ(shortened.substr(4, 6), IdentifierTag(abc));
  // Short enough, or no limit: unchanged.
  EXPECT_EQ(ShortenIdentifier(abc, "x", 26), abc);
  EXPECT_EQ(ShortenIdentifier(abc, "x", 0), abc);
  EXPECT_THROW(ShortenIdentifier(abc, abc, 5), Error);
}

TEST(Naming, ShorteningCountsCodePoints) {
  auto duck = MakeNamingConvention("duck_case", 10);
  std::string name = "\u00e4\u00e4\u00e4\u00e4\u00e4\u00e4\u00e4\u00e4\u00e4\u00e4\u00e4\u00e4";
  std::string shortened = duck->NormalizeIdentifier(name);
  EXPECT_EQ(CodePoints(shortened), 10u);
  EXPECT_EQ(shortened.substr(0, 4), "\u00e4\u00e4");
  // Exactly at the limit: unchanged.
  EXPECT_EQ(duck->NormalizeIdentifier(name.substr(0, 20)), name.substr(0, 20));
}

TEST(Naming, MaxLengthAccessor) {
  EXPECT_EQ(MakeNamingConvention("snake_case")->max_length(), std::nullopt);
  EXPECT_EQ(MakeNamingConvention("snake_case", 63)->max_length(), 63u);
}

}  // namespace
}  // namespace cdlt::schema
