#include "normalize/relational/value_convert.hpp"

#include <fmt/format.h>

#include <array>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>

#include "common/text.hpp"
#include "schema/digest.hpp"

namespace cdlt::normalize::relational {
namespace {

constexpr int64_t kMicrosPerSecond = 1'000'000;
constexpr int64_t kMicrosPerDay = 86'400 * kMicrosPerSecond;

// Drop a leading '+' or '-'; true for '-'.
bool TakeSign(std::string_view& text) {
  if (text.empty() || (text.front() != '+' && text.front() != '-')) return false;
  bool negative = text.front() == '-';
  text.remove_prefix(1);
  return negative;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Read exactly `n` digits at `pos`.
bool ReadDigits(std::string_view text, size_t& pos, size_t n, int& out) {
  if (pos + n > text.size()) return false;
  int value = 0;
  for (size_t i = 0; i < n; ++i) {
    char c = text[pos + i];
    if (!IsDigit(c)) return false;
    value = value * 10 + (c - '0');
  }
  pos += n;
  out = value;
  return true;
}

bool IsLeap(int year) { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

int DaysInMonth(int year, int month) {
  static constexpr std::array<int, 12> kDays = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && IsLeap(year) ? 29 : kDays[static_cast<size_t>(month - 1)];
}

// Days since 1970-01-01 of a civil date (proleptic Gregorian).
int64_t DaysFromCivil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

void CivilFromDays(int64_t z, int64_t& y, int& m, int& d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = yoe + era * 400;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  y += m <= 2;
}

bool ParseDatePart(std::string_view text, size_t& pos, int64_t& days) {
  int year = 0, month = 0, day = 0;
  if (!ReadDigits(text, pos, 4, year)) return false;
  if (pos >= text.size() || text[pos] != '-') return false;
  ++pos;
  if (!ReadDigits(text, pos, 2, month) || month < 1 || month > 12) return false;
  if (pos >= text.size() || text[pos] != '-') return false;
  ++pos;
  if (!ReadDigits(text, pos, 2, day) || day < 1 || day > DaysInMonth(year, month)) return false;
  days = DaysFromCivil(year, month, day);
  return true;
}

// HH:MM[:SS[.fraction]] → micros since midnight.
bool ParseTimePart(std::string_view text, size_t& pos, int64_t& micros) {
  int hour = 0, minute = 0, second = 0;
  if (!ReadDigits(text, pos, 2, hour) || hour > 23) return false;
  if (pos >= text.size() || text[pos] != ':') return false;
  ++pos;
  if (!ReadDigits(text, pos, 2, minute) || minute > 59) return false;
  int64_t fraction = 0;
  if (pos < text.size() && text[pos] == ':') {
    ++pos;
    if (!ReadDigits(text, pos, 2, second) || second > 59) return false;
    if (pos < text.size() && (text[pos] == '.' || text[pos] == ',')) {
      ++pos;
      size_t digits = 0;
      int64_t scale = 100000;
      while (pos < text.size() && IsDigit(text[pos])) {
        // Digits beyond microseconds are truncated.
        if (digits < 6) fraction += (text[pos] - '0') * scale;
        scale /= 10;
        ++digits;
        ++pos;
      }
      if (digits == 0) return false;
    }
  }
  micros = ((hour * 60 + minute) * 60 + second) * kMicrosPerSecond + fraction;
  return true;
}

}  // namespace

std::optional<Micros> ParseIsoDatetime(std::string_view text) {
  size_t pos = 0;
  int64_t days = 0;
  if (!ParseDatePart(text, pos, days)) return std::nullopt;
  if (pos >= text.size() || (text[pos] != 'T' && text[pos] != 't' && text[pos] != ' ')) {
    return std::nullopt;
  }
  ++pos;
  int64_t time = 0;
  if (!ParseTimePart(text, pos, time)) return std::nullopt;
  int64_t offset_minutes = 0;
  if (pos < text.size()) {
    char sign = text[pos];
    if (sign == 'Z' || sign == 'z') {
      ++pos;
    } else if (sign == '+' || sign == '-') {
      ++pos;
      int oh = 0, om = 0;
      if (!ReadDigits(text, pos, 2, oh) || oh > 23) return std::nullopt;
      if (pos < text.size() && text[pos] == ':') ++pos;
      if (pos < text.size() && !ReadDigits(text, pos, 2, om)) return std::nullopt;
      if (om > 59) return std::nullopt;
      offset_minutes = (oh * 60 + om) * (sign == '-' ? -1 : 1);
    } else {
      return std::nullopt;
    }
  }
  if (pos != text.size()) return std::nullopt;
  return days * kMicrosPerDay + time - offset_minutes * 60 * kMicrosPerSecond;
}

std::optional<int32_t> ParseIsoDate(std::string_view text) {
  size_t pos = 0;
  int64_t days = 0;
  if (!ParseDatePart(text, pos, days) || pos != text.size()) return std::nullopt;
  return static_cast<int32_t>(days);
}

std::optional<int64_t> ParseIsoTime(std::string_view text) {
  size_t pos = 0;
  int64_t micros = 0;
  if (!ParseTimePart(text, pos, micros) || pos != text.size()) return std::nullopt;
  return micros;
}

std::optional<Micros> SecondsToMicros(double seconds) {
  if (!std::isfinite(seconds)) return std::nullopt;
  double micros = std::nearbyint(seconds * 1e6);
  if (std::fabs(micros) > 9.2e18) return std::nullopt;
  return static_cast<Micros>(micros);
}

std::optional<Micros> TextToTimestamp(std::string_view text) {
  std::string_view trimmed = Trim(text);
  if (auto ts = ParseIsoDatetime(trimmed)) return ts;
  if (auto date = ParseIsoDate(trimmed)) return int64_t{*date} * kMicrosPerDay;
  if (auto number = TextToDouble(trimmed)) return SecondsToMicros(*number);
  return std::nullopt;
}

std::optional<int64_t> TextToInt64(std::string_view text) {
  text = Trim(text);
  if (text.empty()) return std::nullopt;
  bool negative = TakeSign(text);
  int base = 10;
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    base = 16;
    text.remove_prefix(2);
  }
  std::string digits;
  digits.reserve(text.size());
  bool last_digit = false;
  for (char c : text) {
    if (c == '_') {
      if (!last_digit) return std::nullopt;
      last_digit = false;
      continue;
    }
    bool ok = IsDigit(c) || (base == 16 && HexDigitValue(c) >= 0);
    if (!ok) return std::nullopt;
    digits.push_back(c);
    last_digit = true;
  }
  if (digits.empty() || !last_digit) return std::nullopt;
  uint64_t magnitude = 0;
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), magnitude, base);
  if (ec != std::errc() || ptr != digits.data() + digits.size()) return std::nullopt;
  if (negative) {
    if (magnitude > uint64_t{std::numeric_limits<int64_t>::max()} + 1) return std::nullopt;
    return static_cast<int64_t>(0 - magnitude);
  }
  if (magnitude > uint64_t{std::numeric_limits<int64_t>::max()}) return std::nullopt;
  return static_cast<int64_t>(magnitude);
}

std::optional<double> TextToDouble(std::string_view text) {
  std::string_view trimmed = Trim(text);
  if (trimmed.empty()) return std::nullopt;
  std::string_view body = trimmed;
  TakeSign(body);
  if (body.size() > 2 && body[0] == '0' && (body[1] == 'x' || body[1] == 'X')) {
    auto value = TextToInt64(trimmed);
    if (!value) return std::nullopt;
    return static_cast<double>(*value);
  }
  std::string copy;
  copy.reserve(trimmed.size());
  for (char c : trimmed) {
    if (c == '_') continue;  // Python allows 1_000.5
    copy.push_back(c);
  }
  // strtod also reads hex floats ("0x1p3"); those were handled above as integers.
  char* end = nullptr;
  double value = std::strtod(copy.c_str(), &end);
  if (end != copy.c_str() + copy.size()) return std::nullopt;
  return value;
}

std::optional<bool> TextToBool(std::string_view text) {
  std::string lower = ToLower(Trim(text));
  if (lower == "yes" || lower == "true" || lower == "t" || lower == "y" || lower == "1")
    return true;
  if (lower == "no" || lower == "false" || lower == "f" || lower == "n" || lower == "0") {
    return false;
  }
  return std::nullopt;
}

std::string PyFloatRepr(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value < 0 ? "-inf" : "inf";
  if (value == 0) return std::signbit(value) ? "-0.0" : "0.0";
  std::array<char, 64> buf{};
  auto result =
      std::to_chars(buf.data(), buf.data() + buf.size(), value, std::chars_format::scientific);
  std::string_view sci(buf.data(), static_cast<size_t>(result.ptr - buf.data()));
  // sci = [-]d[.ddd]e±XX
  bool negative = sci.front() == '-';
  if (negative) sci.remove_prefix(1);
  size_t e_pos = sci.find('e');
  std::string_view mantissa = sci.substr(0, e_pos);
  int exponent = std::atoi(std::string(sci.substr(e_pos + 1)).c_str());
  std::string digits;
  for (char c : mantissa) {
    if (c != '.') digits.push_back(c);
  }
  std::string out = negative ? "-" : "";
  if (exponent >= -4 && exponent < 16) {
    if (exponent < 0) {
      out += "0.";
      out.append(static_cast<size_t>(-exponent - 1), '0');
      out += digits;
    } else {
      size_t int_len = static_cast<size_t>(exponent) + 1;
      if (digits.size() <= int_len) {
        out += digits;
        out.append(int_len - digits.size(), '0');
        out += ".0";
      } else {
        out += digits.substr(0, int_len);
        out += '.';
        out += digits.substr(int_len);
      }
    }
    return out;
  }
  out += digits.substr(0, 1);
  if (digits.size() > 1) {
    out += '.';
    out += digits.substr(1);
  }
  out += fmt::format("e{}{:02d}", exponent < 0 ? '-' : '+', std::abs(exponent));
  return out;
}

std::optional<__int128> TextToDecimal(std::string_view text, int precision, int scale) {
  text = Trim(text);
  if (text.empty()) return std::nullopt;
  bool negative = TakeSign(text);
  std::string int_digits, frac_digits;
  int exponent = 0;
  size_t pos = 0;
  while (pos < text.size() && IsDigit(text[pos])) int_digits.push_back(text[pos++]);
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    while (pos < text.size() && IsDigit(text[pos])) frac_digits.push_back(text[pos++]);
  }
  if (int_digits.empty() && frac_digits.empty()) return std::nullopt;
  if (pos < text.size() && (text[pos] == 'e' || text[pos] == 'E')) {
    ++pos;
    // The sign check stays inside the text ("1e" ends here: no exponent digits, malformed), and
    // "1e+-5" is refused as Python's Decimal does.
    if (pos < text.size() && text[pos] == '+') {
      ++pos;
      if (pos < text.size() && text[pos] == '-') return std::nullopt;
    }
    auto [ptr, ec] = std::from_chars(text.data() + pos, text.data() + text.size(), exponent);
    if (ec != std::errc()) return std::nullopt;
    pos = static_cast<size_t>(ptr - text.data());
  }
  // Not std::abs: it overflows for INT_MIN ("1e-2147483648").
  if (pos != text.size() || exponent < -100 || exponent > 100) return std::nullopt;
  // All digits with the point after int_digits, shifted by exponent.
  std::string all = int_digits + frac_digits;
  int point = static_cast<int>(int_digits.size()) + exponent;  // digits before the point
  // Unscaled value = digits[0 .. point + scale), rounded by the next digit.
  int keep = point + scale;
  __int128 value = 0;
  int significant = 0;
  for (int i = 0; i < keep; ++i) {
    int digit = i < static_cast<int>(all.size()) ? all[static_cast<size_t>(i)] - '0' : 0;
    if (value != 0 || digit != 0) ++significant;
    if (significant > precision || significant > 38) return std::nullopt;
    value = value * 10 + digit;
  }
  if (keep >= 0 && keep < static_cast<int>(all.size()) && all[static_cast<size_t>(keep)] >= '5') {
    value += 1;
    __int128 limit = 1;
    for (int i = 0; i < std::min(precision, 38); ++i) limit *= 10;
    if (value >= limit) return std::nullopt;
  }
  return negative ? -value : value;
}

std::string DecimalToText(__int128 unscaled, int scale) {
  bool negative = unscaled < 0;
  unsigned __int128 magnitude =
      negative ? static_cast<unsigned __int128>(-(unscaled + 1)) + 1 : unscaled;
  std::string digits;
  do {
    digits.insert(digits.begin(), static_cast<char>('0' + static_cast<int>(magnitude % 10)));
    magnitude /= 10;
  } while (magnitude != 0);
  if (scale > 0) {
    if (digits.size() <= static_cast<size_t>(scale)) {
      digits.insert(0, static_cast<size_t>(scale) - digits.size() + 1, '0');
    }
    digits.insert(digits.size() - static_cast<size_t>(scale), ".");
  }
  return negative ? "-" + digits : digits;
}

std::optional<std::string> TextToBinary(std::string_view text) {
  if (text.size() >= 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    std::string_view hex = text.substr(2);
    if (hex.size() % 2 != 0) return std::nullopt;
    std::string out;
    out.reserve(hex.size() / 2);
    for (size_t i = 0; i < hex.size(); i += 2) {
      int hi = HexDigitValue(hex[i]), lo = HexDigitValue(hex[i + 1]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
    }
    return out;
  }
  // Strict base64: the shared decoder also takes unpadded text, any number of trailing '=' and
  // an empty string; binary coercion accepts only whole 4-character groups with at most two '='
  // at the very end (an '=' anywhere else is rejected by the decoder itself).
  std::string_view unpadded = text;
  while (!unpadded.empty() && unpadded.back() == '=') unpadded.remove_suffix(1);
  if (text.empty() || text.size() % 4 != 0 || text.size() - unpadded.size() > 2) {
    return std::nullopt;
  }
  return schema::Base64Decode(text);
}

std::optional<std::string> Int64ToBytes(int64_t value) {
  if (value < 0) return std::nullopt;
  std::string out;
  auto v = static_cast<uint64_t>(value);
  while (v != 0) {
    out.push_back(static_cast<char>(v & 0xFF));
    v >>= 8;
  }
  return out;
}

std::string FormatTimestamp(Micros micros, bool with_offset) {
  int64_t days =
      micros >= 0 ? micros / kMicrosPerDay : -((-micros + kMicrosPerDay - 1) / kMicrosPerDay);
  int64_t rest = micros - days * kMicrosPerDay;
  std::string out = FormatDate(static_cast<int32_t>(days)) + "T" + FormatTime(rest);
  if (with_offset) out += "+00:00";
  return out;
}

std::string FormatDate(int32_t days) {
  int64_t y = 0;
  int m = 0, d = 0;
  CivilFromDays(days, y, m, d);
  return fmt::format("{:04d}-{:02d}-{:02d}", y, m, d);
}

std::string FormatTime(int64_t micros) {
  int64_t seconds = micros / kMicrosPerSecond;
  int64_t fraction = micros % kMicrosPerSecond;
  std::string out =
      fmt::format("{:02d}:{:02d}:{:02d}", seconds / 3600, (seconds / 60) % 60, seconds % 60);
  if (fraction != 0) out += fmt::format(".{:06d}", fraction);
  return out;
}

bool IsValidUtf8(std::string_view text) {
  size_t i = 0;
  const size_t n = text.size();
  while (i < n) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len = 0;
    uint32_t cp = 0;
    if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > n) return false;
    for (size_t j = 1; j < len; ++j) {
      auto cc = static_cast<unsigned char>(text[i + j]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += len;
  }
  return true;
}

void AppendJsonString(std::string& out, std::string_view text) {
  out.push_back('"');
  for (char ch : text) {
    auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        if (c < 0x20) {
          out += fmt::format("\\u{:04x}", c);
        } else {
          out.push_back(ch);
        }
    }
  }
  out.push_back('"');
}

}  // namespace cdlt::normalize::relational
