#include "common/text.hpp"

#include <gtest/gtest.h>

#include <string>

namespace cdlt {
namespace {

TEST(Text, TrimDropsAsciiWhitespaceAtBothEnds) {
  EXPECT_EQ(Trim(" \t\r\n\f\va b\v"), "a b");
  EXPECT_EQ(Trim("   "), "");
  EXPECT_EQ(Trim(""), "");
}

TEST(Text, PercentDecodeDecodesHexEscapesInEitherCase) {
  for (BadPercentEscape bad : {BadPercentEscape::kReject, BadPercentEscape::kKeep}) {
    EXPECT_EQ(PercentDecode("p%40ss%3Aw0rd", bad), "p@ss:w0rd");
    EXPECT_EQ(PercentDecode("%2f%2F", bad), "//");
    EXPECT_EQ(PercentDecode("my%20data+x", bad), "my data+x");  // '+' is not a space
    EXPECT_EQ(PercentDecode("%00", bad), std::string(1, '\0'));
    EXPECT_EQ(PercentDecode("%FF", bad), "\xff");
    EXPECT_EQ(PercentDecode("%2541", bad), "%41");  // decoded once
    EXPECT_EQ(PercentDecode("", bad), "");
  }
}

TEST(Text, PercentDecodeRejectsBadEscapes) {
  for (const char* text : {"%zz", "%4g", "a%", "a%4", "%", "%%41", "100%"}) {
    EXPECT_FALSE(PercentDecode(text, BadPercentEscape::kReject)) << text;
  }
}

TEST(Text, PercentDecodeCanKeepBadEscapesAsText) {
  EXPECT_EQ(PercentDecode("%zz", BadPercentEscape::kKeep), "%zz");
  EXPECT_EQ(PercentDecode("a%", BadPercentEscape::kKeep), "a%");
  EXPECT_EQ(PercentDecode("a%4", BadPercentEscape::kKeep), "a%4");
  EXPECT_EQ(PercentDecode("%%41", BadPercentEscape::kKeep), "%A");
  EXPECT_EQ(PercentDecode("100%zz%20", BadPercentEscape::kKeep), "100%zz ");
}

}  // namespace
}  // namespace cdlt
