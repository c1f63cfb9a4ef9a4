#include "config/value_parse.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/error.hpp"

namespace cdlt::config::detail {
namespace {

TEST(ConfigValueParse, IntsAreStrict) {
  EXPECT_EQ(ParseInt("42"), 42);
  EXPECT_EQ(ParseInt("+7"), 7);
  EXPECT_EQ(ParseInt(" -9223372036854775808 "), INT64_MIN);
  EXPECT_EQ(ParseInt("9223372036854775808"), std::nullopt);  // overflow
  EXPECT_EQ(ParseInt("1.0"), std::nullopt);
  EXPECT_EQ(ParseInt("0x10"), std::nullopt);
  EXPECT_EQ(ParseInt("12abc"), std::nullopt);
  EXPECT_EQ(ParseInt(""), std::nullopt);
  EXPECT_EQ(ParseInt("+"), std::nullopt);
}

TEST(ConfigValueParse, BoolsAndDoubles) {
  EXPECT_EQ(ParseBool("YES"), true);
  EXPECT_EQ(ParseBool("False"), false);
  EXPECT_EQ(ParseBool("2"), std::nullopt);
  EXPECT_EQ(ParseBool("on"), std::nullopt);
  EXPECT_EQ(ParseDouble("1e3"), 1000.0);
  EXPECT_EQ(ParseDouble("-0.5"), -0.5);
  EXPECT_EQ(ParseDouble("1.5x"), std::nullopt);
}

TEST(ConfigValueParse, ObjectAndArrayText) {
  EXPECT_EQ(ParseObjectText(R"( {"a": [1, 2]} )"), nlohmann::json::parse(R"({"a": [1, 2]})"));
  EXPECT_EQ(ParseObjectText("{ a.b = 'c' }"), nlohmann::json::parse(R"({"a": {"b": "c"}})"));
  EXPECT_EQ(ParseObjectText("[1]"), std::nullopt);
  EXPECT_EQ(ParseObjectText("{ not valid"), std::nullopt);
  EXPECT_EQ(ParseObjectText("{}\nx = 1"), std::nullopt);
  EXPECT_EQ(ParseArrayText("[1, 'two']"), nlohmann::json::parse(R"([1, "two"])"));
  EXPECT_EQ(ParseArrayText("{}"), std::nullopt);
  EXPECT_EQ(SplitCommaList(" a,, b ,"), (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(SplitCommaList("").empty());
}

TEST(ConfigValueParse, TomlDocumentErrorsNameSourceLineAndColumn) {
  try {
    (void)ParseTomlDocument("a = 1\n[t\n", "/x/config.toml");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kConfig);
    EXPECT_EQ(std::string(e.message()).rfind("invalid TOML in /x/config.toml at line 2, column", 0),
              0u)
        << e.message();
  }
}

}  // namespace
}  // namespace cdlt::config::detail
