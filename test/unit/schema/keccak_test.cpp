#include <fmt/format.h>
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "schema/digest.hpp"

namespace cdlt::schema {
namespace {

using detail::KeccakIsa;

// Every instruction set this CPU runs, narrowest first.
std::vector<KeccakIsa> RunnableIsas() {
  std::vector<KeccakIsa> isas = {KeccakIsa::kScalar};
  if (detail::BestKeccakIsa() != KeccakIsa::kScalar) isas.push_back(KeccakIsa::kAvx2);
  if (detail::BestKeccakIsa() == KeccakIsa::kAvx512) isas.push_back(KeccakIsa::kAvx512);
  return isas;
}

std::string Hex(std::string_view bytes) {
  std::string out;
  for (unsigned char c : bytes) out += fmt::format("{:02x}", c);
  return out;
}

std::string RunMany(KeccakIsa isa, const std::vector<std::string>& messages, size_t length) {
  std::vector<std::string_view> views(messages.begin(), messages.end());
  std::string out(messages.size() * length, '\0');
  detail::Shake128Many(isa, views, reinterpret_cast<unsigned char*>(out.data()), length);
  return out;
}

TEST(Keccak, KnownAnswerOfTheEmptyMessage) {
  // FIPS 202's SHAKE128("") starts 7f9c2ba4e88f827d616045507605853e.
  for (KeccakIsa isa : RunnableIsas()) {
    EXPECT_EQ(Hex(RunMany(isa, {""}, 16)), "7f9c2ba4e88f827d616045507605853e")
        << static_cast<int>(isa);
  }
}

TEST(Keccak, EveryInstructionSetMatchesOpenSslForEveryLengthAndBatchSize) {
  std::mt19937 rng(7);
  for (KeccakIsa isa : RunnableIsas()) {
    // Every input length that fits one block, in batches of every size from 1 to 19 (partial
    // and full groups of 4 and 8 lanes), and output lengths up to a whole block.
    for (size_t count = 1; count < 20; ++count) {
      for (size_t length : {size_t{1}, size_t{10}, size_t{15}, size_t{64}, kShake128Rate}) {
        std::vector<std::string> messages;
        for (size_t i = 0; i < count; ++i) {
          std::string message((count * 37 + i * 11 + length) % kShake128Rate, '\0');
          for (char& c : message) c = static_cast<char>(rng());
          messages.push_back(std::move(message));
        }
        std::string got = RunMany(isa, messages, length);
        for (size_t i = 0; i < count; ++i) {
          ASSERT_EQ(Hex(got.substr(i * length, length)), Hex(Shake128(messages[i], length)))
              << "isa " << static_cast<int>(isa) << ", message " << i << " of " << count
              << ", input " << messages[i].size() << " bytes, output " << length;
        }
      }
    }
    for (size_t size = 0; size < kShake128Rate; ++size) {
      std::string message(size, 'x');
      ASSERT_EQ(RunMany(isa, {message}, 10), Shake128(message, 10)) << size;
    }
  }
}

TEST(Keccak, InputsLongerThanOneBlockAmongShortOnesMatchOpenSsl) {
  std::vector<std::string> messages = {"short", std::string(kShake128Rate, 'a'), "", "x",
                                       std::string(1000, 'b')};
  for (KeccakIsa isa : RunnableIsas()) {
    std::string got = RunMany(isa, messages, 10);
    for (size_t i = 0; i < messages.size(); ++i) {
      EXPECT_EQ(Hex(got.substr(i * 10, 10)), Hex(Shake128(messages[i], 10))) << i;
    }
  }
}

}  // namespace
}  // namespace cdlt::schema
