#include "schema/naming.hpp"

#include <algorithm>
#include <array>
#include <utility>

#include "common/error.hpp"
#include "schema/digest.hpp"

namespace cdlt::schema {
namespace {

// Identifiers are processed as code points so that regex-like rules and lengths match Python's
// str semantics.
std::u32string DecodeUtf8(std::string_view text) {
  std::u32string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    auto byte = static_cast<unsigned char>(text[i]);
    size_t extra = 0;
    char32_t cp = 0;
    if (byte < 0x80) {
      cp = byte;
    } else if ((byte & 0xE0) == 0xC0) {
      extra = 1;
      cp = byte & 0x1F;
    } else if ((byte & 0xF0) == 0xE0) {
      extra = 2;
      cp = byte & 0x0F;
    } else if ((byte & 0xF8) == 0xF0) {
      extra = 3;
      cp = byte & 0x07;
    } else {
      out += U'\uFFFD';
      ++i;
      continue;
    }
    bool valid = true;
    for (size_t k = 1; valid && k <= extra; ++k) {
      if (i + k >= text.size()) {
        valid = false;
        break;
      }
      auto cont = static_cast<unsigned char>(text[i + k]);
      if ((cont & 0xC0) != 0x80) {
        valid = false;
        break;
      }
      cp = (cp << 6) | (cont & 0x3F);
    }
    if (!valid) {
      // Invalid sequences become U+FFFD, which every convention treats as an ordinary character.
      out += U'\uFFFD';
      ++i;
      continue;
    }
    out += cp;
    i += extra + 1;
  }
  return out;
}

std::string EncodeUtf8(std::u32string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char32_t cp : text) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }
  return out;
}

// Python's str.isspace() set, used by str.strip().
bool IsUnicodeSpace(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 ||
         c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
         c == 0x205F || c == 0x3000;
}

// Unicode decimal digits (category Nd), which Python's `\d` matches; Unicode 14.
constexpr std::array<std::pair<char32_t, char32_t>, 62> kDecimalRanges = {{
    {0x30, 0x39},       {0x660, 0x669},     {0x6F0, 0x6F9},     {0x7C0, 0x7C9},
    {0x966, 0x96F},     {0x9E6, 0x9EF},     {0xA66, 0xA6F},     {0xAE6, 0xAEF},
    {0xB66, 0xB6F},     {0xBE6, 0xBEF},     {0xC66, 0xC6F},     {0xCE6, 0xCEF},
    {0xD66, 0xD6F},     {0xDE6, 0xDEF},     {0xE50, 0xE59},     {0xED0, 0xED9},
    {0xF20, 0xF29},     {0x1040, 0x1049},   {0x1090, 0x1099},   {0x17E0, 0x17E9},
    {0x1810, 0x1819},   {0x1946, 0x194F},   {0x19D0, 0x19D9},   {0x1A80, 0x1A89},
    {0x1A90, 0x1A99},   {0x1B50, 0x1B59},   {0x1BB0, 0x1BB9},   {0x1C40, 0x1C49},
    {0x1C50, 0x1C59},   {0xA620, 0xA629},   {0xA8D0, 0xA8D9},   {0xA900, 0xA909},
    {0xA9D0, 0xA9D9},   {0xA9F0, 0xA9F9},   {0xAA50, 0xAA59},   {0xABF0, 0xABF9},
    {0xFF10, 0xFF19},   {0x104A0, 0x104A9}, {0x10D30, 0x10D39}, {0x11066, 0x1106F},
    {0x110F0, 0x110F9}, {0x11136, 0x1113F}, {0x111D0, 0x111D9}, {0x112F0, 0x112F9},
    {0x11450, 0x11459}, {0x114D0, 0x114D9}, {0x11650, 0x11659}, {0x116C0, 0x116C9},
    {0x11730, 0x11739}, {0x118E0, 0x118E9}, {0x11950, 0x11959}, {0x11C50, 0x11C59},
    {0x11D50, 0x11D59}, {0x11DA0, 0x11DA9}, {0x16A60, 0x16A69}, {0x16AC0, 0x16AC9},
    {0x16B50, 0x16B59}, {0x1D7CE, 0x1D7FF}, {0x1E140, 0x1E149}, {0x1E2F0, 0x1E2F9},
    {0x1E950, 0x1E959}, {0x1FBF0, 0x1FBF9},
}};

bool IsDecimal(char32_t c) {
  if (c < 0x80) return c >= '0' && c <= '9';
  return std::any_of(kDecimalRanges.begin(), kDecimalRanges.end(),
                     [c](const auto& range) { return c >= range.first && c <= range.second; });
}

bool IsAsciiUpper(char32_t c) { return c >= 'A' && c <= 'Z'; }
bool IsAsciiLower(char32_t c) { return c >= 'a' && c <= 'z'; }
bool IsAsciiDigit(char32_t c) { return c >= '0' && c <= '9'; }

// `[A-Za-z\d_]` with Python's Unicode `\d`.
bool IsWordChar(char32_t c) {
  return IsAsciiUpper(c) || IsAsciiLower(c) || c == '_' || IsDecimal(c);
}

// Replace each run of characters outside [A-Za-z\d_] with one '_'.
std::u32string ReplaceNonAlphanumericRuns(std::u32string_view text) {
  std::u32string out;
  out.reserve(text.size());
  bool in_run = false;
  for (char32_t c : text) {
    if (IsWordChar(c)) {
      out += c;
      in_run = false;
    } else if (!in_run) {
      out += U'_';
      in_run = true;
    }
  }
  return out;
}

// Collapse runs of two or more '_' into one.
std::u32string CollapseUnderscores(std::u32string_view text) {
  std::u32string out;
  out.reserve(text.size());
  for (char32_t c : text) {
    if (c == U'_' && !out.empty() && out.back() == U'_') continue;
    out += c;
  }
  return out;
}

void AsciiLower(std::u32string& text) {
  for (char32_t& c : text) {
    if (IsAsciiUpper(c)) c = c - U'A' + U'a';
  }
}

// Non-overlapping, left-to-right replacement of `([^_])([A-Z][a-z]+)` by `\1_\2`.
std::u32string BreakCapitalizedWords(std::u32string_view s) {
  std::u32string out;
  size_t start = 0;
  size_t p = 0;
  while (p + 2 < s.size()) {
    if (s[p] != U'_' && IsAsciiUpper(s[p + 1]) && IsAsciiLower(s[p + 2])) {
      size_t end = p + 3;
      while (end < s.size() && IsAsciiLower(s[end])) ++end;
      out.append(s.substr(start, p + 1 - start));
      out += U'_';
      out.append(s.substr(p + 1, end - p - 1));
      start = end;
      p = end;
    } else {
      ++p;
    }
  }
  out.append(s.substr(start));
  return out;
}

// Non-overlapping, left-to-right replacement of `([a-z0-9])([A-Z])` by `\1_\2`.
std::u32string BreakLowerUpper(std::u32string_view s) {
  std::u32string out;
  size_t start = 0;
  size_t p = 0;
  while (p + 1 < s.size()) {
    if ((IsAsciiLower(s[p]) || IsAsciiDigit(s[p])) && IsAsciiUpper(s[p + 1])) {
      out.append(s.substr(start, p + 1 - start));
      out += U'_';
      out += s[p + 1];
      start = p + 2;
      p = start;
    } else {
      ++p;
    }
  }
  out.append(s.substr(start));
  return out;
}

std::u32string Translate(std::u32string_view text, std::u32string_view from,
                         std::u32string_view to) {
  std::u32string out(text);
  for (char32_t& c : out) {
    size_t pos = from.find(c);
    if (pos != std::u32string_view::npos) c = to[pos];
  }
  return out;
}

bool IsBlank(std::string_view text) {
  std::u32string decoded = DecodeUtf8(text);
  return std::all_of(decoded.begin(), decoded.end(), IsUnicodeSpace);
}

class SnakeCase : public NamingConvention {
 public:
  using NamingConvention::NamingConvention;

  std::string NormalizeIdentifier(std::string_view identifier) const override {
    std::string stripped = StripIdentifier(identifier);
    std::u32string s = Translate(DecodeUtf8(stripped), U"+-*@|", U"x_xal");
    s = ReplaceNonAlphanumericRuns(s);
    s = BreakLowerUpper(BreakCapitalizedWords(s));
    AsciiLower(s);
    if (!s.empty() && IsDecimal(s.front())) s.insert(s.begin(), U'_');
    // Trailing underscores become 'x' (as many as there were) so they survive as a path end.
    size_t trailing = s.size();
    while (trailing > 0 && s[trailing - 1] == U'_') --trailing;
    std::fill(s.begin() + static_cast<std::ptrdiff_t>(trailing), s.end(), U'x');
    return Shorten(EncodeUtf8(CollapseUnderscores(s)), stripped);
  }
  std::string_view name() const override { return "snake_case"; }
  bool is_case_sensitive() const override { return false; }
};

class DuckCase : public NamingConvention {
 public:
  using NamingConvention::NamingConvention;

  std::string NormalizeIdentifier(std::string_view identifier) const override {
    std::string stripped = StripIdentifier(identifier);
    std::u32string s = Translate(DecodeUtf8(stripped), U"\n\r\"", U"___");
    return Shorten(EncodeUtf8(CollapseUnderscores(s)), stripped);
  }
  std::string_view name() const override { return "duck_case"; }
  bool is_case_sensitive() const override { return true; }
};

class Direct : public NamingConvention {
 public:
  using NamingConvention::NamingConvention;

  std::string NormalizeIdentifier(std::string_view identifier) const override {
    std::string stripped = StripIdentifier(identifier);
    std::u32string s = Translate(DecodeUtf8(stripped), U"\n\r'\"\u25B6", U"_____");
    return Shorten(EncodeUtf8(s), stripped);
  }
  std::string_view name() const override { return "direct"; }
  bool is_case_sensitive() const override { return true; }
  std::string_view path_separator() const override { return "\u25B6"; }
};

class SqlV1 : public NamingConvention {
 public:
  SqlV1(std::optional<size_t> max_length, bool case_sensitive)
      : NamingConvention(max_length), case_sensitive_(case_sensitive) {}

  std::string NormalizeIdentifier(std::string_view identifier) const override {
    std::string stripped = StripIdentifier(identifier);
    std::u32string s = ReplaceNonAlphanumericRuns(DecodeUtf8(stripped));
    if (!s.empty() && IsDecimal(s.front())) s.insert(s.begin(), U'_');
    while (!s.empty() && s.back() == U'_') s.pop_back();
    s = CollapseUnderscores(s);
    if (!case_sensitive_) AsciiLower(s);
    return Shorten(EncodeUtf8(s), stripped);
  }
  std::string_view name() const override { return case_sensitive_ ? "sql_cs_v1" : "sql_ci_v1"; }
  bool is_case_sensitive() const override { return case_sensitive_; }

 private:
  bool case_sensitive_;
};

}  // namespace

std::string_view NamingConvention::path_separator() const { return "__"; }

std::string NamingConvention::MakePath(const std::vector<std::string>& parts) const {
  std::string out;
  bool first = true;
  for (const std::string& part : parts) {
    if (IsBlank(part)) continue;
    if (!first) out += path_separator();
    out += part;
    first = false;
  }
  return out;
}

std::vector<std::string> NamingConvention::BreakPath(std::string_view path) const {
  std::vector<std::string> parts;
  std::string_view separator = path_separator();
  size_t start = 0;
  while (true) {
    size_t pos = path.find(separator, start);
    std::string_view piece = path.substr(start, pos == std::string_view::npos ? pos : pos - start);
    if (!IsBlank(piece)) parts.emplace_back(piece);
    if (pos == std::string_view::npos) break;
    start = pos + separator.size();
  }
  return parts;
}

std::string NamingConvention::NormalizePath(std::string_view path) const {
  std::vector<std::string> parts = BreakPath(path);
  for (std::string& part : parts) part = NormalizeIdentifier(part);
  return Shorten(MakePath(parts), path);
}

std::string NamingConvention::NormalizeTablePath(std::string_view path) const {
  return NormalizePath(path);
}

std::string NamingConvention::NormalizeTableIdentifier(std::string_view identifier) const {
  return NormalizeIdentifier(identifier);
}

std::string NamingConvention::ShortenFragments(
    const std::vector<std::string>& normalized_parts) const {
  std::string path = MakePath(normalized_parts);
  return Shorten(path, path);
}

std::string NamingConvention::Shorten(std::string normalized, std::string_view original) const {
  if (!max_length_ || *max_length_ == 0) return normalized;
  return ShortenIdentifier(normalized, original, *max_length_);
}

std::string NamingConvention::StripIdentifier(std::string_view identifier) {
  std::u32string decoded = DecodeUtf8(identifier);
  size_t begin = 0;
  size_t end = decoded.size();
  while (begin < end && IsUnicodeSpace(decoded[begin])) ++begin;
  while (end > begin && IsUnicodeSpace(decoded[end - 1])) --end;
  if (begin == end) Throw(ErrorKind::kSchema, "cannot normalize an empty identifier");
  if (begin == 0 && end == decoded.size()) return std::string(identifier);
  return EncodeUtf8(std::u32string_view(decoded).substr(begin, end - begin));
}

std::unique_ptr<NamingConvention> MakeNamingConvention(std::string_view name,
                                                       std::optional<size_t> max_length) {
  constexpr std::string_view kModulePrefix = "dlt.common.normalizers.naming.";
  std::string_view short_name = name;
  if (short_name.substr(0, kModulePrefix.size()) == kModulePrefix) {
    short_name.remove_prefix(kModulePrefix.size());
  }
  if (short_name == "snake_case") return std::make_unique<SnakeCase>(max_length);
  if (short_name == "duck_case") return std::make_unique<DuckCase>(max_length);
  if (short_name == "direct") return std::make_unique<Direct>(max_length);
  if (short_name == "sql_cs_v1") return std::make_unique<SqlV1>(max_length, true);
  if (short_name == "sql_ci_v1") return std::make_unique<SqlV1>(max_length, false);
  Throw(ErrorKind::kConfig, "unknown naming convention '{}': allowed values are {}", name,
        "snake_case, duck_case, direct, sql_cs_v1, sql_ci_v1");
}

std::string IdentifierTag(std::string_view original) {
  std::string tag = Base64Encode(Shake128(original, 4));
  while (!tag.empty() && tag.back() == '=') tag.pop_back();
  for (char& c : tag) {
    if (c == '/') {
      c = 'a';
    } else if (c == '+') {
      c = 'b';
    } else if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return tag;
}

std::string ShortenIdentifier(std::string_view normalized, std::string_view original,
                              size_t max_length) {
  std::u32string decoded = DecodeUtf8(normalized);
  if (max_length == 0 || decoded.size() <= max_length) return std::string(normalized);
  if (max_length < kShortenTagLength) {
    Throw(ErrorKind::kConfig, "max identifier length {} is shorter than the {}-character tag",
          max_length, kShortenTagLength);
  }
  size_t remaining = max_length - kShortenTagLength;
  size_t head = remaining / 2 + remaining % 2;
  size_t tail = remaining / 2;
  std::u32string_view view(decoded);
  return EncodeUtf8(view.substr(0, head)) + IdentifierTag(original) +
         EncodeUtf8(view.substr(view.size() - tail));
}

}  // namespace cdlt::schema
