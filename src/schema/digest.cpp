#include "schema/digest.hpp"

#include <openssl/evp.h>

#include <cstdint>

#include "common/error.hpp"

namespace cdlt::schema {

std::string Shake128(std::string_view data, size_t length) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  CDLT_ASSERT(ctx != nullptr, "EVP_MD_CTX_new failed");
  std::string out(length, '\0');
  bool ok = EVP_DigestInit_ex(ctx, EVP_shake128(), nullptr) == 1 &&
            EVP_DigestUpdate(ctx, data.data(), data.size()) == 1 &&
            EVP_DigestFinalXOF(ctx, reinterpret_cast<unsigned char*>(out.data()), length) == 1;
  EVP_MD_CTX_free(ctx);
  CDLT_ASSERT(ok, "shake128 digest failed");
  return out;
}

Sha3_256::Sha3_256() : ctx_(EVP_MD_CTX_new()) {
  CDLT_ASSERT(ctx_ != nullptr, "EVP_MD_CTX_new failed");
  if (EVP_DigestInit_ex(ctx_, EVP_sha3_256(), nullptr) != 1) {
    EVP_MD_CTX_free(ctx_);
    ctx_ = nullptr;
    CDLT_ASSERT(false, "sha3-256 init failed");
  }
}

Sha3_256::~Sha3_256() { EVP_MD_CTX_free(ctx_); }

void Sha3_256::Update(std::string_view data) {
  CDLT_ASSERT(EVP_DigestUpdate(ctx_, data.data(), data.size()) == 1, "sha3-256 update failed");
}

std::string Sha3_256::Finish() {
  std::string out(EVP_MAX_MD_SIZE, '\0');
  unsigned int size = 0;
  CDLT_ASSERT(EVP_DigestFinal_ex(ctx_, reinterpret_cast<unsigned char*>(out.data()), &size) == 1,
              "sha3-256 final failed");
  out.resize(size);
  return out;
}

std::string Base64Encode(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    uint32_t v = (static_cast<uint8_t>(bytes[i]) << 16) |
                 (static_cast<uint8_t>(bytes[i + 1]) << 8) | static_cast<uint8_t>(bytes[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  size_t rest = bytes.size() - i;
  if (rest > 0) {
    uint32_t v = static_cast<uint8_t>(bytes[i]) << 16;
    if (rest == 2) v |= static_cast<uint8_t>(bytes[i + 1]) << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += rest == 2 ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

}  // namespace cdlt::schema
