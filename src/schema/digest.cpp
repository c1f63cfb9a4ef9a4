#include "schema/digest.hpp"

#include <openssl/evp.h>

#include <cstdint>

#include "common/error.hpp"

namespace cdlt::schema {

void Shake128Into(std::string_view data, unsigned char* out, size_t length) {
  // One fetched algorithm and context per thread: fetching SHAKE128 on every call takes a lock
  // inside OpenSSL, which serialized parallel hashing.
  thread_local Shake128Hasher hasher;
  hasher.Digest(data, out, length);
}

std::string Shake128(std::string_view data, size_t length) {
  std::string out(length, '\0');
  Shake128Into(data, reinterpret_cast<unsigned char*>(out.data()), length);
  return out;
}

Shake128Hasher::Shake128Hasher()
    : md_(EVP_MD_fetch(nullptr, "SHAKE128", nullptr)), ctx_(EVP_MD_CTX_new()) {
  CDLT_ASSERT(md_ != nullptr && ctx_ != nullptr, "SHAKE128 is not available");
}

Shake128Hasher::~Shake128Hasher() {
  EVP_MD_CTX_free(ctx_);
  EVP_MD_free(md_);
}

void Shake128Hasher::Digest(std::string_view data, unsigned char* out, size_t length) {
  bool ok = EVP_DigestInit_ex2(ctx_, md_, nullptr) == 1 &&
            EVP_DigestUpdate(ctx_, data.data(), data.size()) == 1 &&
            EVP_DigestFinalXOF(ctx_, out, length) == 1;
  CDLT_ASSERT(ok, "shake128 digest failed");
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

namespace cdlt::schema {

std::optional<std::string> Base64Decode(std::string_view text) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  std::string out;
  out.reserve(text.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    int v = value(c);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return out;
}

}  // namespace cdlt::schema
