#include "tests/harness/images.h"

#include <array>
#include <cstdint>

namespace cityhub::testing {
namespace {

void Be32(std::string& s, uint32_t v) {
  for (int i = 3; i >= 0; --i) s += static_cast<char>((v >> (8 * i)) & 0xff);
}
void Be16(std::string& s, uint32_t v) {
  s += static_cast<char>((v >> 8) & 0xff);
  s += static_cast<char>(v & 0xff);
}
void Le32(std::string& s, uint32_t v) {
  for (int i = 0; i < 4; ++i) s += static_cast<char>((v >> (8 * i)) & 0xff);
}
void Le24(std::string& s, uint32_t v) {
  for (int i = 0; i < 3; ++i) s += static_cast<char>((v >> (8 * i)) & 0xff);
}

uint32_t Crc32(const std::string& data) {
  static const auto table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t n = 0; n < 256; ++n) {
      uint32_t c = n;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[n] = c;
    }
    return t;
  }();
  uint32_t c = 0xffffffffu;
  for (unsigned char b : data) c = table[(c ^ b) & 0xff] ^ (c >> 8);
  return c ^ 0xffffffffu;
}

uint32_t Adler32(const std::string& data) {
  uint32_t a = 1, b = 0;
  for (unsigned char c : data) {
    a = (a + c) % 65521;
    b = (b + a) % 65521;
  }
  return (b << 16) | a;
}

void PngChunk(std::string& png, const std::string& type, const std::string& data) {
  Be32(png, static_cast<uint32_t>(data.size()));
  const std::string body = type + data;
  png += body;
  Be32(png, Crc32(body));
}

// zlib stream of `raw` in stored (uncompressed) deflate blocks.
std::string ZlibStored(const std::string& raw) {
  std::string out = "\x78\x01";
  size_t pos = 0;
  do {
    const size_t n = std::min<size_t>(65535, raw.size() - pos);
    const bool last = pos + n == raw.size();
    out += static_cast<char>(last ? 1 : 0);
    out += static_cast<char>(n & 0xff);
    out += static_cast<char>(n >> 8);
    out += static_cast<char>(~n & 0xff);
    out += static_cast<char>((~n >> 8) & 0xff);
    out += raw.substr(pos, n);
    pos += n;
  } while (pos < raw.size());
  Be32(out, Adler32(raw));
  return out;
}

}  // namespace

std::string TestPng(int width, int height, bool with_metadata) {
  std::string png("\x89PNG\r\n\x1a\n", 8);
  std::string ihdr;
  Be32(ihdr, static_cast<uint32_t>(width));
  Be32(ihdr, static_cast<uint32_t>(height));
  ihdr += std::string("\x08\x02\x00\x00\x00", 5);  // 8-bit RGB, no interlace
  PngChunk(png, "IHDR", ihdr);
  if (with_metadata) PngChunk(png, "tEXt", std::string("Comment\0", 8) + kGpsMarker);
  std::string raw;
  for (int y = 0; y < height; ++y) {
    raw += '\0';  // filter: none
    for (int x = 0; x < width; ++x) {
      raw += static_cast<char>(x * 255 / std::max(1, width - 1));
      raw += static_cast<char>(y * 255 / std::max(1, height - 1));
      raw += static_cast<char>(128);
    }
  }
  PngChunk(png, "IDAT", ZlibStored(raw));
  PngChunk(png, "IEND", "");
  return png;
}

std::string TestJpeg(int width, int height, bool with_exif, size_t scan_bytes) {
  std::string j("\xFF\xD8", 2);
  // APP0 JFIF
  j += std::string("\xFF\xE0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00", 18);
  if (with_exif) {
    const std::string payload = std::string("Exif\0\0", 6) + kGpsMarker;
    j += "\xFF\xE1";
    Be16(j, static_cast<uint32_t>(payload.size() + 2));
    j += payload;
  }
  // DQT: one table of 64 ones.
  j += std::string("\xFF\xDB\x00\x43\x00", 5) + std::string(64, '\x01');
  // SOF0: 8-bit, height, width, one component.
  j += std::string("\xFF\xC0\x00\x0B\x08", 5);
  Be16(j, static_cast<uint32_t>(height));
  Be16(j, static_cast<uint32_t>(width));
  j += std::string("\x01\x01\x11\x00", 4);
  // DHT: a minimal DC table.
  j += std::string("\xFF\xC4\x00\x14\x00", 5) + std::string("\x01", 1) + std::string(15, '\0') +
       std::string("\x00", 1);
  // SOS, then a few scan bytes and EOI.
  j += std::string("\xFF\xDA\x00\x08\x01\x01\x00\x00\x3F\x00", 10);
  static constexpr char kScan[] = "\x12\x34\x56\x78";
  j.reserve(j.size() + scan_bytes + 2);
  for (size_t i = 0; i < scan_bytes; ++i)
    j += i < 4 ? kScan[i] : static_cast<char>((i * 7 + i / 251) % 255);
  j += "\xFF\xD9";
  return j;
}

std::string TestWebp(int width, int height, bool with_exif) {
  std::string body = "WEBP";
  body += "VP8X";
  Le32(body, 10);
  body += static_cast<char>(with_exif ? 0x08 : 0x00);
  body += std::string(3, '\0');
  Le24(body, static_cast<uint32_t>(width - 1));
  Le24(body, static_cast<uint32_t>(height - 1));
  // VP8L: signature, 14-bit width-1, 14-bit height-1, alpha and version bits.
  std::string vp8l = "\x2f";
  const uint32_t bits =
      static_cast<uint32_t>(width - 1) | (static_cast<uint32_t>(height - 1) << 14);
  Le32(vp8l, bits);
  vp8l += std::string(3, '\0');
  body += "VP8L";
  Le32(body, static_cast<uint32_t>(vp8l.size()));
  body += vp8l;
  if (vp8l.size() % 2) body += '\0';
  if (with_exif) {
    const std::string exif = std::string("Exif\0\0", 6) + kGpsMarker;
    body += "EXIF";
    Le32(body, static_cast<uint32_t>(exif.size()));
    body += exif;
    if (exif.size() % 2) body += '\0';
  }
  std::string out = "RIFF";
  Le32(out, static_cast<uint32_t>(body.size()));
  return out + body;
}

}  // namespace cityhub::testing
