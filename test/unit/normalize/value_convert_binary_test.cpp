// Binary coercion of text (TextToBinary, used by the relational normalizer for binary columns):
// "0x" hex or strict base64. The base64 part uses schema::Base64Decode, which on its own is more
// lenient (no padding needed, any number of trailing '=', empty text); these pin that the
// normalizer still takes only whole padded groups.

#include <gtest/gtest.h>

#include <string>

#include "normalize/relational/value_convert.hpp"
#include "schema/digest.hpp"

namespace cdlt::normalize::relational {
namespace {

TEST(TextToBinary, DecodesPaddedBase64) {
  EXPECT_EQ(TextToBinary("QUJD"), "ABC");
  EXPECT_EQ(TextToBinary("QUI="), "AB");
  EXPECT_EQ(TextToBinary("QQ=="), "A");
  EXPECT_EQ(TextToBinary("QUJDRA=="), "ABCD");
  EXPECT_EQ(TextToBinary("+/+/"), "\xfb\xff\xbf");
  EXPECT_EQ(TextToBinary("AAAA"), std::string(3, '\0'));
  // Bits after the last whole byte are ignored, as before.
  EXPECT_EQ(TextToBinary("QR=="), "A");
  std::string bytes("\x00\x01\x7f\x80\xfe\xff hello", 12);
  EXPECT_EQ(TextToBinary(schema::Base64Encode(bytes)), bytes);
}

TEST(TextToBinary, RejectsWhatTheSharedDecoderWouldAccept) {
  // Schema::Base64Decode takes these; binary coercion does not.
  for (const char* text :
       {"", "Q", "QQ", "QUI", "QUJDR", "QQ===", "QUI==", "QUJD====", "====", "Q==="}) {
    EXPECT_TRUE(schema::Base64Decode(text)) << text;
    EXPECT_FALSE(TextToBinary(text)) << '"' << text << '"';
  }
}

TEST(TextToBinary, RejectsMalformedBase64) {
  for (const char* text : {"QU=I", "Q=I=", "=QUI", "QQ==QUJD", "QUI= ", " QUI", "QU I", "QUI=\n",
                           "QUJ-", "QUJ_", "QUJ.", "QUJ\x80"}) {
    EXPECT_FALSE(TextToBinary(text)) << '"' << text << '"';
  }
}

TEST(TextToBinary, HexIsTriedBeforeBase64) {
  EXPECT_EQ(TextToBinary("0x4142"), "AB");
  EXPECT_EQ(TextToBinary("0X4a4B"), "JK");
  EXPECT_EQ(TextToBinary("0x"), "");
  EXPECT_FALSE(TextToBinary("0x414"));
  EXPECT_FALSE(TextToBinary("0xzz"));
  EXPECT_EQ(TextToBinary("0xAB"), "\xab");  // also valid base64, read as hex
}

}  // namespace
}  // namespace cdlt::normalize::relational
