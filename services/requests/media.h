#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

// Photos: recognised by their content (never by the declared type), checked for sane
// dimensions, and stripped of metadata before they are stored.
namespace cityhub::requests {

inline constexpr size_t kMaxMediaBytes = 10 * 1024 * 1024;
inline constexpr int kMaxSide = 20000;
inline constexpr int64_t kMaxPixels = 100'000'000;

struct ImageInfo {
  // "image/jpeg", "image/png" or "image/webp".
  std::string content_type;
  int width = 0;
  int height = 0;
};

// The format and size of `data`. INVALID_ARGUMENT "file: ..." for anything that is not a
// well-formed JPEG, PNG or WebP header, or whose dimensions are not sane.
absl::StatusOr<ImageInfo> SniffImage(std::string_view data);

// `data` without metadata that may reveal where and by whom a photo was taken: JPEG APP1
// (Exif, XMP), APP13 (IPTC) and comment segments; PNG eXIf/tEXt/zTXt/iTXt/tIME chunks; WebP
// EXIF and XMP chunks (and their VP8X flags). Pixel data is untouched. Note that dropping
// Exif also drops the orientation tag; clients should upload photos already upright.
absl::StatusOr<std::string> StripMetadata(std::string_view data, const ImageInfo& info);

}  // namespace cityhub::requests
