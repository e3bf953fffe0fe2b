#include "services/requests/media.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/harness/images.h"

namespace cityhub::requests {
namespace {

using cityhub::testing::kGpsMarker;
using ::testing::HasSubstr;
using ::testing::Not;

TEST(SniffImage, RecognisesFormatsByContentAndReadsDimensions) {
  auto png = SniffImage(cityhub::testing::TestPng(40, 30));
  ASSERT_TRUE(png.ok()) << png.status();
  EXPECT_EQ(png->content_type, "image/png");
  EXPECT_EQ(png->width, 40);
  EXPECT_EQ(png->height, 30);
  auto jpeg = SniffImage(cityhub::testing::TestJpeg(640, 480, true));
  ASSERT_TRUE(jpeg.ok()) << jpeg.status();
  EXPECT_EQ(jpeg->content_type, "image/jpeg");
  EXPECT_EQ(jpeg->width, 640);
  EXPECT_EQ(jpeg->height, 480);
  auto webp = SniffImage(cityhub::testing::TestWebp(1024, 768, true));
  ASSERT_TRUE(webp.ok()) << webp.status();
  EXPECT_EQ(webp->content_type, "image/webp");
  EXPECT_EQ(webp->width, 1024);
  EXPECT_EQ(webp->height, 768);
}

TEST(SniffImage, RefusesWhatIsNotAnImageNamingTheField) {
  for (const std::string& bad :
       {std::string(""), std::string("hello, this is a text file\n"),
        std::string("\xFF\xD8\xFF\xE0\x00", 5), std::string("GIF89a......"),
        std::string("\x89PNG\r\n\x1a\n\x00\x00", 10),
        std::string("RIFF\x10\x00\x00\x00WEBPVP8 ", 16)}) {
    auto info = SniffImage(bad);
    ASSERT_FALSE(info.ok());
    EXPECT_EQ(info.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(info.status().message()), ::testing::StartsWith("file: "));
  }
}

TEST(SniffImage, RefusesInsaneDimensionsAndOversizedFiles) {
  EXPECT_FALSE(SniffImage(cityhub::testing::TestJpeg(0, 10)).ok());
  EXPECT_FALSE(SniffImage(cityhub::testing::TestJpeg(30000, 10)).ok());
  EXPECT_FALSE(SniffImage(cityhub::testing::TestJpeg(15000, 15000)).ok());  // 225 MP
  std::string big = cityhub::testing::TestJpeg(10, 10);
  big.resize(kMaxMediaBytes + 1, '\0');
  EXPECT_THAT(std::string(SniffImage(big).status().message()), HasSubstr("larger than 10 MiB"));
}

TEST(StripMetadata, RemovesExifAndTextButKeepsTheImage) {
  for (const std::string& image :
       {cityhub::testing::TestJpeg(64, 48, true), cityhub::testing::TestPng(8, 8, true),
        cityhub::testing::TestWebp(64, 48, true)}) {
    ASSERT_THAT(image, HasSubstr(kGpsMarker));
    auto info = SniffImage(image);
    ASSERT_TRUE(info.ok());
    auto stripped = StripMetadata(image, *info);
    ASSERT_TRUE(stripped.ok()) << stripped.status();
    EXPECT_THAT(*stripped, Not(HasSubstr(kGpsMarker))) << info->content_type;
    auto again = SniffImage(*stripped);
    ASSERT_TRUE(again.ok()) << again.status();
    EXPECT_EQ(again->width, info->width);
    EXPECT_EQ(again->height, info->height);
  }
}

// A phone's JPEG carries more than its primary image: an MPF index (APP2) and, after the image's
// end, secondary images with their own Exif (GPS) or a motion-photo video. Only the primary
// image is kept (#18 item 4).
TEST(StripMetadata, KeepsOnlyTheJpegsPrimaryImage) {
  const std::string clean = cityhub::testing::TestJpeg(64, 48, false);
  ASSERT_TRUE(clean.ends_with("\xFF\xD9"));
  // APP2 segments after APP0: an MPF index (dropped) and an ICC profile (kept).
  const auto app2 = [](const std::string& payload) {
    std::string s = "\xFF\xE2";
    s += static_cast<char>((payload.size() + 2) >> 8);
    s += static_cast<char>((payload.size() + 2) & 0xFF);
    return s + payload;
  };
  const std::string mpf = app2(std::string("MPF\0", 4) + "II*\0-index");
  const std::string icc = app2(std::string("ICC_PROFILE\0", 12) + "\x01\x01colour");
  std::string phone = clean.substr(0, 20) + mpf + icc + clean.substr(20);
  // After EOI: a secondary image with GPS in its Exif, and a motion-photo trailer.
  phone += cityhub::testing::TestJpeg(32, 24, true) + "ftypmp42 motion photo " + kGpsMarker;
  auto info = SniffImage(phone);
  ASSERT_TRUE(info.ok()) << info.status();
  auto stripped = StripMetadata(phone, *info);
  ASSERT_TRUE(stripped.ok()) << stripped.status();
  EXPECT_THAT(*stripped, Not(HasSubstr(kGpsMarker)));
  EXPECT_THAT(*stripped, Not(HasSubstr("MPF")));
  EXPECT_THAT(*stripped, Not(HasSubstr("motion photo")));
  EXPECT_THAT(*stripped, HasSubstr("ICC_PROFILE"));
  EXPECT_EQ(*stripped, clean.substr(0, 20) + icc + clean.substr(20));
}

// Inside the scan, FF00 (a stuffed FF) and RST markers are image data, not its end; the segments
// between the scans of a progressive JPEG are kept.
TEST(StripMetadata, ReadsThroughStuffedBytesRestartsAndProgressiveScans) {
  std::string jpeg = cityhub::testing::TestJpeg(16, 16, false);
  jpeg.resize(jpeg.size() - 2);  // without EOI
  jpeg += std::string("\xFF\x00\x21\xFF\xD0\x22", 6);
  jpeg += std::string("\xFF\xC4\x00\x14\x10", 5) + std::string(16, '\0') +
          std::string("\x00", 1);                                               // DHT
  jpeg += std::string("\xFF\xDA\x00\x08\x01\x01\x00\x00\x3F\x00\x33\x44", 12);  // a second scan
  jpeg += "\xFF\xD9";
  auto stripped = StripMetadata(jpeg, *SniffImage(jpeg));
  ASSERT_TRUE(stripped.ok()) << stripped.status();
  EXPECT_EQ(*stripped, jpeg);
  EXPECT_EQ(StripMetadata(jpeg + "trailing", *SniffImage(jpeg)).value(), jpeg);
}

TEST(StripMetadata, LeavesCleanImagesAsTheyAre) {
  const std::string png = cityhub::testing::TestPng(8, 8, false);
  EXPECT_EQ(StripMetadata(png, *SniffImage(png)).value(), png);
  const std::string jpeg = cityhub::testing::TestJpeg(8, 8, false);
  EXPECT_EQ(StripMetadata(jpeg, *SniffImage(jpeg)).value(), jpeg);
}

TEST(StripMetadata, ClearsTheWebpExifFlagAndFixesTheRiffSize) {
  const std::string webp = cityhub::testing::TestWebp(16, 16, true);
  const std::string stripped = StripMetadata(webp, *SniffImage(webp)).value();
  EXPECT_EQ(static_cast<uint8_t>(stripped[20]) & 0x08, 0);
  const uint32_t riff =
      static_cast<uint8_t>(stripped[4]) | (static_cast<uint8_t>(stripped[5]) << 8) |
      (static_cast<uint8_t>(stripped[6]) << 16) | (static_cast<uint8_t>(stripped[7]) << 24);
  EXPECT_EQ(riff + 8, stripped.size());
}

// A VP8X chunk declared empty, then the image chunk: there are no flags to clear, and the
// image chunk's type must not be touched.
TEST(StripMetadata, RefusesAWebpWhoseVp8xChunkIsTooShortForItsFlags) {
  const std::string clean = cityhub::testing::TestWebp(16, 16, false);
  ASSERT_EQ(clean.substr(12, 4), "VP8X");
  ASSERT_EQ(clean.substr(30, 4), "VP8L");
  std::string webp = clean.substr(0, 12) + "VP8X" + std::string(4, '\0') + clean.substr(30);
  const uint32_t riff = static_cast<uint32_t>(webp.size() - 8);
  for (int k = 0; k < 4; ++k) webp[4 + k] = static_cast<char>((riff >> (8 * k)) & 0xff);

  auto stripped = StripMetadata(webp, ImageInfo{"image/webp", 16, 16});
  ASSERT_FALSE(stripped.ok()) << "changed the next chunk to " << stripped->substr(20, 4);
  EXPECT_EQ(stripped.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(stripped.status().message()), ::testing::StartsWith("file: "));
  EXPECT_FALSE(SniffImage(webp).ok());
  // The well-formed original still passes whole.
  auto info = SniffImage(clean);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(StripMetadata(clean, *info).value(), clean);
}

}  // namespace
}  // namespace cityhub::requests
