#pragma once

#include <cstddef>
#include <string>
#include <string_view>

struct evp_md_ctx_st;  // OpenSSL's EVP_MD_CTX, kept out of this header.

namespace cdlt::schema {

/// Return `length` bytes of the SHAKE-128 extendable output of `data`.
std::string Shake128(std::string_view data, size_t length);

/// Incremental SHA3-256, for hashes fed in several pieces (the schema version hash).
class Sha3_256 {
 public:
  Sha3_256();
  ~Sha3_256();
  Sha3_256(const Sha3_256&) = delete;
  Sha3_256& operator=(const Sha3_256&) = delete;

  /// Feed more bytes.
  void Update(std::string_view data);
  /// Return the 32-byte digest; the object cannot be updated afterwards.
  std::string Finish();

 private:
  evp_md_ctx_st* ctx_;
};

/// Encode `bytes` as standard base64 (alphabet with '+' and '/', '=' padding).
std::string Base64Encode(std::string_view bytes);

}  // namespace cdlt::schema
