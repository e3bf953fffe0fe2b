#include "services/requests/media.h"

#include <cstdint>

#include "infra/status.h"

namespace cityhub::requests {
namespace {

absl::Status Bad(std::string_view problem) { return infra::InvalidField("file", problem); }

uint8_t U8(std::string_view d, size_t i) { return static_cast<uint8_t>(d[i]); }
uint32_t Be16(std::string_view d, size_t i) { return (U8(d, i) << 8) | U8(d, i + 1); }
uint32_t Be32(std::string_view d, size_t i) { return (Be16(d, i) << 16) | Be16(d, i + 2); }
uint32_t Le16(std::string_view d, size_t i) { return U8(d, i) | (U8(d, i + 1) << 8); }
uint32_t Le24(std::string_view d, size_t i) { return Le16(d, i) | (U8(d, i + 2) << 16); }
uint32_t Le32(std::string_view d, size_t i) { return Le16(d, i) | (Le16(d, i + 2) << 16); }

void PutLe32(std::string& d, size_t i, uint32_t v) {
  for (int k = 0; k < 4; ++k) d[i + k] = static_cast<char>((v >> (8 * k)) & 0xff);
}

bool IsSof(uint8_t m) { return m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC; }

// Walks the JPEG segments before the scan. `fn(marker, segment_start, segment_end)` sees
// every segment with its length (markers without payload are skipped). False if malformed.
template <typename Fn>
bool WalkJpeg(std::string_view d, size_t* scan_start, Fn fn) {
  size_t i = 2;
  while (i + 4 <= d.size()) {
    if (U8(d, i) != 0xFF) return false;
    uint8_t marker = U8(d, i + 1);
    if (marker == 0xFF) {  // fill byte
      ++i;
      continue;
    }
    if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) {
      i += 2;
      continue;
    }
    if (marker == 0xD9) return false;  // end of image before any scan
    const size_t length = Be16(d, i + 2);
    if (length < 2 || i + 2 + length > d.size()) return false;
    if (marker == 0xDA) {
      *scan_start = i;
      return true;
    }
    if (!fn(marker, i, i + 2 + length)) return false;
    i += 2 + length;
  }
  return false;
}

absl::StatusOr<ImageInfo> SniffJpeg(std::string_view d) {
  ImageInfo info{"image/jpeg", 0, 0};
  size_t scan = 0;
  const bool ok = WalkJpeg(d, &scan, [&](uint8_t marker, size_t start, size_t end) {
    if (IsSof(marker) && info.width == 0) {
      if (end - start < 9) return false;
      info.height = static_cast<int>(Be16(d, start + 5));
      info.width = static_cast<int>(Be16(d, start + 7));
    }
    return true;
  });
  if (!ok || info.width == 0) return Bad("not a well-formed JPEG");
  return info;
}

absl::StatusOr<ImageInfo> SniffPng(std::string_view d) {
  if (d.size() < 33 || d.substr(12, 4) != "IHDR" || Be32(d, 8) != 13) {
    return Bad("not a well-formed PNG");
  }
  return ImageInfo{"image/png", static_cast<int>(Be32(d, 16)), static_cast<int>(Be32(d, 20))};
}

// The VP8X chunk's payload: flags, reserved bytes, canvas width and height.
constexpr uint32_t kVp8xSize = 10;

absl::StatusOr<ImageInfo> SniffWebp(std::string_view d) {
  if (d.size() < 30 || Le32(d, 4) + 8 > d.size() + 1) return Bad("not a well-formed WebP");
  const std::string_view chunk = d.substr(12, 4);
  ImageInfo info{"image/webp", 0, 0};
  if (chunk == "VP8 ") {
    if (U8(d, 23) != 0x9d || U8(d, 24) != 0x01 || U8(d, 25) != 0x2a)
      return Bad("not a well-formed WebP");
    info.width = static_cast<int>(Le16(d, 26) & 0x3fff);
    info.height = static_cast<int>(Le16(d, 28) & 0x3fff);
  } else if (chunk == "VP8L") {
    if (U8(d, 20) != 0x2f) return Bad("not a well-formed WebP");
    const uint32_t bits = Le32(d, 21);
    info.width = static_cast<int>((bits & 0x3fff) + 1);
    info.height = static_cast<int>(((bits >> 14) & 0x3fff) + 1);
  } else if (chunk == "VP8X") {
    if (Le32(d, 16) < kVp8xSize) return Bad("not a well-formed WebP");
    info.width = static_cast<int>(Le24(d, 24) + 1);
    info.height = static_cast<int>(Le24(d, 27) + 1);
  } else {
    return Bad("not a well-formed WebP");
  }
  return info;
}

// Where the primary image ends: just after its EOI, following the scans from `scan` (entropy-coded
// data, with its stuffed FF00 and RST markers, and the segments between the scans of a
// progressive JPEG). npos when no EOI comes.
size_t PrimaryImageEnd(std::string_view d, size_t scan) {
  size_t i = scan;
  while (i + 2 <= d.size()) {
    if (U8(d, i) != 0xFF) return std::string_view::npos;
    const uint8_t marker = U8(d, i + 1);
    if (marker == 0xFF) {  // fill byte
      ++i;
      continue;
    }
    if (marker == 0xD9) return i + 2;
    if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) {
      i += 2;
      continue;
    }
    if (i + 4 > d.size()) return std::string_view::npos;
    const size_t length = Be16(d, i + 2);
    if (length < 2 || i + 2 + length > d.size()) return std::string_view::npos;
    i += 2 + length;
    if (marker != 0xDA) continue;
    // Entropy-coded data runs to the next marker that is not stuffed (FF00) or a restart.
    while (i + 1 < d.size()) {
      const uint8_t next = U8(d, i + 1);
      if (U8(d, i) != 0xFF || next == 0x00 || (next >= 0xD0 && next <= 0xD7)) {
        i += U8(d, i) == 0xFF ? 2 : 1;
        continue;
      }
      if (next == 0xFF) {
        ++i;
        continue;
      }
      break;
    }
  }
  return std::string_view::npos;
}

// Keeps the primary image only: Exif (APP1, GPS among it), IPTC (APP13), comments and the
// multi-picture index (APP2 "MPF") go, and so does everything after the image's end, where
// phones put secondary images with their own Exif and motion-photo videos. ICC profiles (APP2
// "ICC_PROFILE") stay: they are colour, not metadata about the resident.
absl::StatusOr<std::string> StripJpeg(std::string_view d) {
  std::string out(d.substr(0, 2));
  size_t scan = 0;
  const bool ok = WalkJpeg(d, &scan, [&](uint8_t marker, size_t start, size_t end) {
    const bool mpf = marker == 0xE2 && d.substr(start + 4, 4) == std::string_view("MPF\0", 4);
    const bool drop = marker == 0xE1 || marker == 0xED || marker == 0xFE || mpf;
    if (!drop) out.append(d.substr(start, end - start));
    return true;
  });
  if (!ok) return Bad("not a well-formed JPEG");
  const size_t end = PrimaryImageEnd(d, scan);
  // Without an EOI (a truncated file) there is no "after the image" to cut.
  out.append(d.substr(scan, end == std::string_view::npos ? std::string_view::npos : end - scan));
  return out;
}

absl::StatusOr<std::string> StripPng(std::string_view d) {
  std::string out(d.substr(0, 8));
  size_t i = 8;
  bool ended = false;
  while (i + 12 <= d.size()) {
    const size_t length = Be32(d, i);
    if (length > d.size() - i - 12) return Bad("not a well-formed PNG");
    const std::string_view type = d.substr(i + 4, 4);
    const bool drop =
        type == "eXIf" || type == "tEXt" || type == "zTXt" || type == "iTXt" || type == "tIME";
    if (!drop) out.append(d.substr(i, length + 12));
    i += length + 12;
    if (type == "IEND") {
      ended = true;
      break;
    }
  }
  if (!ended) return Bad("not a well-formed PNG");
  return out;
}

absl::StatusOr<std::string> StripWebp(std::string_view d) {
  std::string out(d.substr(0, 12));
  size_t vp8x_at = std::string::npos;
  const size_t end = std::min<size_t>(d.size(), static_cast<size_t>(Le32(d, 4)) + 8);
  size_t i = 12;
  while (i + 8 <= end) {
    const std::string_view type = d.substr(i, 4);
    const size_t size = Le32(d, i + 4);
    const size_t padded = size + (size & 1);
    if (size > end - i - 8) return Bad("not a well-formed WebP");
    if (type == "VP8X") {
      // The flags are the payload's first byte: a shorter chunk has none, and clearing them
      // would change the next chunk's header instead.
      if (size < kVp8xSize) return Bad("not a well-formed WebP");
      if (vp8x_at == std::string::npos) vp8x_at = out.size();
    }
    if (type != "EXIF" && type != "XMP ") out.append(d.substr(i, std::min(8 + padded, end - i)));
    i += 8 + padded;
  }
  if (vp8x_at != std::string::npos)
    out[vp8x_at + 8] = static_cast<char>(U8(out, vp8x_at + 8) & ~0x0C);
  PutLe32(out, 4, static_cast<uint32_t>(out.size() - 8));
  return out;
}

}  // namespace

absl::StatusOr<ImageInfo> SniffImage(std::string_view d) {
  if (d.empty()) return Bad("is empty");
  if (d.size() > kMaxMediaBytes) return Bad("larger than 10 MiB");
  absl::StatusOr<ImageInfo> info = Bad("not a JPEG, PNG or WebP image");
  if (d.size() >= 3 && U8(d, 0) == 0xFF && U8(d, 1) == 0xD8 && U8(d, 2) == 0xFF) {
    info = SniffJpeg(d);
  } else if (d.size() >= 8 && d.substr(0, 8) == std::string_view("\x89PNG\r\n\x1a\n", 8)) {
    info = SniffPng(d);
  } else if (d.size() >= 12 && d.substr(0, 4) == "RIFF" && d.substr(8, 4) == "WEBP") {
    info = SniffWebp(d);
  }
  RETURN_IF_ERROR(info);
  if (info->width < 1 || info->height < 1 || info->width > kMaxSide || info->height > kMaxSide ||
      static_cast<int64_t>(info->width) * info->height > kMaxPixels) {
    return Bad("image dimensions are not sane (1..20000 px a side, at most 100 megapixels)");
  }
  return info;
}

absl::StatusOr<std::string> StripMetadata(std::string_view data, const ImageInfo& info) {
  if (info.content_type == "image/jpeg") return StripJpeg(data);
  if (info.content_type == "image/png") return StripPng(data);
  if (info.content_type == "image/webp") return StripWebp(data);
  return Bad("not a JPEG, PNG or WebP image");
}

}  // namespace cityhub::requests
