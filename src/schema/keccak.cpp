// SHAKE-128 of many short inputs side by side (Shake128Many).
//
// The normalizer hashes one short text per nested row (its `_dlt_id`, reference §5.3); through
// OpenSSL each costs one Keccak-f[1600] permutation plus the EVP call overhead, about 0.4 µs, which
// was a seventh of the normalize stage's CPU. The permutation is written here once, over a lane
// type: a plain uint64_t for one state, or a GCC/clang vector of 4 or 8 uint64_t that runs as many
// independent states in AVX2 or AVX-512 registers. The unit tests compare every variant this CPU
// runs with OpenSSL's SHAKE-128.

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <cstring>

#include "common/error.hpp"
#include "schema/digest.hpp"

// Vector values pass between the always-inlined helpers below; the compilers warn that their ABI
// would depend on the target, which does not matter for functions that never exist on their own.
// For the whole file: GCC reports these at its end, past any `diagnostic pop`.
#if defined(__clang__)
#pragma clang diagnostic ignored "-Wunknown-warning-option"
#endif
#pragma GCC diagnostic ignored "-Wpsabi"

namespace cdlt::schema {
namespace {

// Lanes are read from and written to bytes as little-endian words; elsewhere OpenSSL does it.
constexpr bool kLittleEndian = std::endian::native == std::endian::little;

constexpr int kRounds = 24;
constexpr size_t kRateWords = kShake128Rate / 8;

struct KeccakConstants {
  std::array<uint64_t, kRounds> round{};  // ι
  std::array<int, 25> rotation{};         // ρ, by lane x + 5y
  std::array<int, 25> target{};           // π: where lane x + 5y goes
};

// The constants as FIPS 202 defines them (rather than as tables copied in): ι's bits come from
// the LFSR x^8 + x^6 + x^5 + x^4 + 1, ρ's offsets from the walk (x, y) → (y, 2x + 3y).
constexpr KeccakConstants MakeKeccakConstants() {
  KeccakConstants k;
  uint8_t lfsr = 1;
  for (int i = 0; i < kRounds; ++i) {
    uint64_t value = 0;
    for (int j = 0; j < 7; ++j) {
      if ((lfsr & 1) != 0) value |= uint64_t{1} << ((1 << j) - 1);
      lfsr = (lfsr & 0x80) != 0 ? static_cast<uint8_t>((lfsr << 1) ^ 0x71)
                                : static_cast<uint8_t>(lfsr << 1);
    }
    k.round[static_cast<size_t>(i)] = value;
  }
  int x = 1, y = 0;
  for (int t = 0; t < 24; ++t) {
    k.rotation[static_cast<size_t>(x + 5 * y)] = ((t + 1) * (t + 2) / 2) % 64;
    int next_y = (2 * x + 3 * y) % 5;
    x = y;
    y = next_y;
  }
  for (int lx = 0; lx < 5; ++lx) {
    for (int ly = 0; ly < 5; ++ly) {
      k.target[static_cast<size_t>(lx + 5 * ly)] = ly + 5 * ((2 * lx + 3 * ly) % 5);
    }
  }
  return k;
}

constexpr KeccakConstants kKeccak = MakeKeccakConstants();

template <int N, class V>
[[gnu::always_inline]] inline V RotateLeft(V v) {
  if constexpr (N == 0) {
    return v;
  } else {
    return (v << N) | (v >> (64 - N));
  }
}

// θ's column effect applied, then ρ and π, lane by lane (unrolled at compile time).
template <int I, class V>
[[gnu::always_inline]] inline void RhoPi(const V* a, const V* d, V* b) {
  b[kKeccak.target[I]] = RotateLeft<kKeccak.rotation[I]>(V(a[I] ^ d[I % 5]));
  if constexpr (I < 24) RhoPi<I + 1>(a, d, b);
}

template <int Y, class V>
[[gnu::always_inline]] inline void Chi(const V* b, V* a) {
  constexpr int kRow = 5 * Y;
  a[kRow + 0] = b[kRow + 0] ^ (~b[kRow + 1] & b[kRow + 2]);
  a[kRow + 1] = b[kRow + 1] ^ (~b[kRow + 2] & b[kRow + 3]);
  a[kRow + 2] = b[kRow + 2] ^ (~b[kRow + 3] & b[kRow + 4]);
  a[kRow + 3] = b[kRow + 3] ^ (~b[kRow + 4] & b[kRow + 0]);
  a[kRow + 4] = b[kRow + 4] ^ (~b[kRow + 0] & b[kRow + 1]);
  if constexpr (Y < 4) Chi<Y + 1>(b, a);
}

template <class V>
[[gnu::always_inline]] inline void KeccakF1600(V* a) {
  for (int round = 0; round < kRounds; ++round) {
    V c[5], d[5], b[25];
    // θ, written out: a loop over x left vector lanes in memory with some compilers.
    c[0] = a[0] ^ a[5] ^ a[10] ^ a[15] ^ a[20];
    c[1] = a[1] ^ a[6] ^ a[11] ^ a[16] ^ a[21];
    c[2] = a[2] ^ a[7] ^ a[12] ^ a[17] ^ a[22];
    c[3] = a[3] ^ a[8] ^ a[13] ^ a[18] ^ a[23];
    c[4] = a[4] ^ a[9] ^ a[14] ^ a[19] ^ a[24];
    d[0] = c[4] ^ RotateLeft<1>(c[1]);
    d[1] = c[0] ^ RotateLeft<1>(c[2]);
    d[2] = c[1] ^ RotateLeft<1>(c[3]);
    d[3] = c[2] ^ RotateLeft<1>(c[4]);
    d[4] = c[3] ^ RotateLeft<1>(c[0]);
    RhoPi<0>(a, d, b);
    Chi<0>(b, a);
    a[0] ^= kKeccak.round[static_cast<size_t>(round)];
  }
}

// The one padded block of a message shorter than the rate: message, 0x1F, zeros, 0x80.
[[gnu::always_inline]] inline void PadBlock(std::string_view message,
                                            uint64_t (&words)[kRateWords]) {
  unsigned char block[kShake128Rate] = {};
  if (!message.empty()) std::memcpy(block, message.data(), message.size());
  block[message.size()] ^= 0x1F;
  block[kShake128Rate - 1] ^= 0x80;
  std::memcpy(words, block, kShake128Rate);
}

// SHAKE-128 of `lanes` (at most the width of V) messages in one pass of the permutation.
template <class V, size_t kWidth>
[[gnu::always_inline]] inline void ShakeLanes(const std::string_view* data, size_t lanes,
                                              unsigned char* out, size_t length) {
  V a[25] = {};
  for (size_t l = 0; l < lanes; ++l) {
    uint64_t words[kRateWords];
    PadBlock(data[l], words);
    for (size_t i = 0; i < kRateWords; ++i) {
      if constexpr (kWidth == 1) {
        a[i] = words[i];
      } else {
        a[i][l] = words[i];
      }
    }
  }
  KeccakF1600(a);
  for (size_t l = 0; l < lanes; ++l) {
    uint64_t words[kRateWords];
    for (size_t i = 0; i < (length + 7) / 8; ++i) {
      if constexpr (kWidth == 1) {
        words[i] = a[i];
      } else {
        words[i] = a[i][l];
      }
    }
    std::memcpy(out + l * length, words, length);
  }
}

void ShakeScalar(const std::string_view* data, size_t count, unsigned char* out, size_t length) {
  for (size_t i = 0; i < count; ++i) ShakeLanes<uint64_t, 1>(data + i, 1, out + i * length, length);
}

#if defined(__x86_64__)
using Lanes4 = uint64_t __attribute__((vector_size(32)));
using Lanes8 = uint64_t __attribute__((vector_size(64)));

[[gnu::target("avx2")]] void ShakeAvx2(const std::string_view* data, size_t count,
                                       unsigned char* out, size_t length) {
  for (size_t i = 0; i < count; i += 4) {
    ShakeLanes<Lanes4, 4>(data + i, std::min<size_t>(4, count - i), out + i * length, length);
  }
}

// AVX-512 has a rotate and a three-input logic instruction, which the compiler uses for ρ and χ.
// Up to 4 messages go in 256-bit registers: on CPUs that split 512-bit operations in two (AMD Zen
// 4) that is half the work of a full 8-lane pass.
[[gnu::target("avx512f,avx512vl")]] void ShakeAvx512(const std::string_view* data, size_t count,
                                                     unsigned char* out, size_t length) {
  size_t i = 0;
  while (count - i > 4) {
    size_t lanes = std::min<size_t>(8, count - i);
    ShakeLanes<Lanes8, 8>(data + i, lanes, out + i * length, length);
    i += lanes;
  }
  if (i < count) ShakeLanes<Lanes4, 4>(data + i, count - i, out + i * length, length);
}
#endif

}  // namespace

namespace detail {

KeccakIsa BestKeccakIsa() {
#if defined(__x86_64__)
  static const KeccakIsa best = [] {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl")) {
      return KeccakIsa::kAvx512;
    }
    if (__builtin_cpu_supports("avx2")) return KeccakIsa::kAvx2;
    return KeccakIsa::kScalar;
  }();
  return best;
#else
  return KeccakIsa::kScalar;
#endif
}

void Shake128Many(KeccakIsa isa, std::span<const std::string_view> data, unsigned char* out,
                  size_t length) {
  CDLT_ASSERT(length <= kShake128Rate, "Shake128Many: output longer than one block");
  bool all_short = std::all_of(data.begin(), data.end(),
                               [](std::string_view m) { return m.size() < kShake128Rate; });
  if (!kLittleEndian || !all_short) {
    // Rare (very long texts, big-endian CPUs): OpenSSL, one input at a time.
    for (size_t i = 0; i < data.size(); ++i) {
      if (kLittleEndian && data[i].size() < kShake128Rate) {
        Shake128Many(isa, data.subspan(i, 1), out + i * length, length);
      } else {
        Shake128Into(data[i], out + i * length, length);
      }
    }
    return;
  }
  switch (isa) {
#if defined(__x86_64__)
    case KeccakIsa::kAvx512:
      ShakeAvx512(data.data(), data.size(), out, length);
      return;
    case KeccakIsa::kAvx2:
      ShakeAvx2(data.data(), data.size(), out, length);
      return;
#endif
    default:
      ShakeScalar(data.data(), data.size(), out, length);
  }
}

}  // namespace detail

void Shake128Many(std::span<const std::string_view> data, unsigned char* out, size_t length) {
  detail::Shake128Many(detail::BestKeccakIsa(), data, out, length);
}

}  // namespace cdlt::schema
