#pragma once

#include <cstddef>
#include <string>

// Small images for tests, made in code so that no image tool is needed.
namespace cityhub::testing {

// A real, decodable RGB PNG (uncompressed deflate blocks) with a tEXt chunk holding
// "GPS 52.0211,8.5325" when `with_metadata`.
std::string TestPng(int width, int height, bool with_metadata = false);

// A structurally valid baseline JPEG (SOI, APP0 JFIF, optional APP1 Exif with a GPS marker
// text, DQT, SOF0 with the dimensions, DHT, SOS, scan bytes, EOI). Enough for anything that
// reads JPEG headers; not meant to be decoded into pixels. `scan_bytes` of scan data (never
// 0xFF) make it as large as a test needs.
std::string TestJpeg(int width, int height, bool with_exif = false, size_t scan_bytes = 4);

// A structurally valid extended WebP (RIFF, VP8X, optional EXIF chunk, VP8L bitstream header).
std::string TestWebp(int width, int height, bool with_exif = false);

// The marker text the metadata variants carry.
inline constexpr char kGpsMarker[] = "GPS 52.0211,8.5325";

}  // namespace cityhub::testing
