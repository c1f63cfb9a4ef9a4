#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>

struct evp_md_ctx_st;  // OpenSSL's EVP_MD_CTX, kept out of this header.
struct evp_md_st;      // OpenSSL's EVP_MD

namespace cdlt::schema {

/// Return `length` bytes of the SHAKE-128 extendable output of `data`.
std::string Shake128(std::string_view data, size_t length);

/// Write `length` bytes of the SHAKE-128 output of `data` to `out` (OpenSSL, one context per
/// thread).
void Shake128Into(std::string_view data, unsigned char* out, size_t length);

/// Bytes of one SHAKE-128 block: Shake128Many vectorizes inputs shorter than this.
inline constexpr size_t kShake128Rate = 168;

/// Write the first `length` (at most kShake128Rate) bytes of the SHAKE-128 output of each
/// `data[i]` to `out + i * length`. Hashes 4 or 8 inputs side by side when the CPU has AVX2 or
/// AVX-512 and every input is shorter than kShake128Rate bytes; else one by one. Thread-safe.
void Shake128Many(std::span<const std::string_view> data, unsigned char* out, size_t length);

namespace detail {
/// The instruction sets Shake128Many can use (tests run each one the CPU has).
enum class KeccakIsa { kScalar, kAvx2, kAvx512 };
/// The widest instruction set this CPU runs.
KeccakIsa BestKeccakIsa();
/// Shake128Many with the given instruction set (which the CPU must run).
void Shake128Many(KeccakIsa isa, std::span<const std::string_view> data, unsigned char* out,
                  size_t length);
}  // namespace detail

/// SHAKE-128 for many short inputs: the algorithm is fetched and the context allocated once.
/// Not thread-safe; use one per thread.
class Shake128Hasher {
 public:
  Shake128Hasher();
  ~Shake128Hasher();
  Shake128Hasher(const Shake128Hasher&) = delete;
  Shake128Hasher& operator=(const Shake128Hasher&) = delete;
  /// Write `length` bytes of the SHAKE-128 output of `data` to `out`.
  void Digest(std::string_view data, unsigned char* out, size_t length);

 private:
  evp_md_st* md_;
  evp_md_ctx_st* ctx_;
};

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
/// Decode standard base64 (padding optional); nullopt when `text` is not base64.
std::optional<std::string> Base64Decode(std::string_view text);

}  // namespace cdlt::schema
