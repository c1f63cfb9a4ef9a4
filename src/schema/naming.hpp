#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cdlt::schema {

/// Turns source identifiers (keys, resource names, paths) into destination identifiers.
/// Lengths are counted in Unicode code points, as dlt does.
class NamingConvention {
 public:
  explicit NamingConvention(std::optional<size_t> max_length) : max_length_(max_length) {}
  virtual ~NamingConvention() = default;

  /// Normalize one identifier, including shortening when max_length is set. Throws
  /// Error(kSchema) when the identifier is empty or only whitespace.
  virtual std::string NormalizeIdentifier(std::string_view identifier) const = 0;
  /// Return the convention's name ("snake_case", ...).
  virtual std::string_view name() const = 0;
  /// Return whether identifiers that differ only in case are different.
  virtual bool is_case_sensitive() const = 0;
  /// Return the separator of path pieces: "__" (direct: "▶").
  virtual std::string_view path_separator() const;

  /// Join the parts that are not empty or whitespace-only with the path separator.
  std::string MakePath(const std::vector<std::string>& parts) const;
  /// Split on the path separator, dropping empty and whitespace-only pieces.
  std::vector<std::string> BreakPath(std::string_view path) const;
  /// Normalize each piece, join, then shorten the whole path (tag from the raw `path`).
  std::string NormalizePath(std::string_view path) const;
  /// Same as NormalizePath for now.
  std::string NormalizeTablePath(std::string_view path) const;
  /// Same as NormalizeIdentifier for now.
  std::string NormalizeTableIdentifier(std::string_view identifier) const;
  /// Join already normalized pieces and shorten the result with a tag computed from the joined
  /// path (dlt's shorten_fragments; used for variant and nested table names).
  std::string ShortenFragments(const std::vector<std::string>& normalized_parts) const;
  /// Shorten `normalized` when over max_length, tag from `original`.
  std::string Shorten(std::string normalized, std::string_view original) const;

  std::optional<size_t> max_length() const { return max_length_; }

 protected:
  /// Strip surrounding (Unicode) whitespace; throw Error(kSchema) when nothing is left.
  static std::string StripIdentifier(std::string_view identifier);

 private:
  std::optional<size_t> max_length_;
};

/// Create a naming convention by name: "snake_case" (default), "duck_case", "direct",
/// "sql_cs_v1", "sql_ci_v1" (also with the "dlt.common.normalizers.naming." prefix).
/// Throws Error(kConfig) listing the allowed names for an unknown name.
std::unique_ptr<NamingConvention> MakeNamingConvention(
    std::string_view name, std::optional<size_t> max_length = std::nullopt);

/// Length of the tag that ShortenIdentifier puts in the middle of a shortened identifier.
inline constexpr size_t kShortenTagLength = 6;

/// Return the tag of `original`: base64 of 4 bytes of shake_128, '=' stripped, '/'→'a',
/// '+'→'b', lower-cased.
std::string IdentifierTag(std::string_view original);

/// Shorten `normalized` to exactly `max_length` code points when longer: keep the head and tail
/// and put the tag of `original` in the middle. Unchanged when it fits or max_length is 0.
/// Throws Error(kConfig) when max_length is shorter than the tag.
std::string ShortenIdentifier(std::string_view normalized, std::string_view original,
                              size_t max_length);

}  // namespace cdlt::schema
