#include "gateway/static_files.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace cityhub::gateway {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

std::string HeaderOf(const HttpResponse& r, std::string_view name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return "";
}

class StaticFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("cityhub-web-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_ / "assets");
    fs::create_directories(dir_ / ".hidden");
    Write("index.html",
          R"(<!doctype html><meta name="cityhub-config" content="{}"><div id="app"></div>)");
    Write("index.html.gz", "stale compressed index");
    Write("assets/app-1a2b3c.js", "console.log('app')");
    Write("assets/app-1a2b3c.js.gz", "GZIPPED-JS");
    Write("sw.js", "self.addEventListener('fetch', () => {})");
    Write("manifest.webmanifest", "{}");
    Write("icons/icon-192.png", "\x89PNG");
    Write(".hidden/secret.txt", "not served");
  }
  void TearDown() override { fs::remove_all(dir_); }

  void Write(const std::string& name, const std::string& content) {
    fs::create_directories((dir_ / name).parent_path());
    std::ofstream(dir_ / name, std::ios::binary) << content;
  }

  std::unique_ptr<StaticFiles> Load(std::string config = "{}") {
    StaticFilesOptions options;
    options.dir = dir_.string();
    options.config_json = std::move(config);
    options.extra_image_origin = "https://tiles.example.org";
    auto files = StaticFiles::Load(options);
    EXPECT_TRUE(files.ok()) << files.status();
    return files.ok() ? *std::move(files) : nullptr;
  }

  static HttpRequest Get(std::string path,
                         std::vector<std::pair<std::string, std::string>> headers = {}) {
    HttpRequest r;
    r.method = "GET";
    r.path = path;
    r.target = path;
    r.headers = std::move(headers);
    return r;
  }

  std::optional<HttpResponse> Find(const StaticFiles& files, const HttpRequest& request) {
    return files.Find(request.path, request);
  }

  fs::path dir_;
};

TEST_F(StaticFilesTest, RootAnswersIndexWithNoCacheAndTheStrictPolicy) {
  auto files = Load();
  auto r = Find(*files, Get("/"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_THAT(r->body, HasSubstr(R"(<div id="app">)"));
  EXPECT_EQ(HeaderOf(*r, "Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(HeaderOf(*r, "Cache-Control"), "no-cache");
  const std::string csp = HeaderOf(*r, "Content-Security-Policy");
  EXPECT_THAT(csp, HasSubstr("script-src 'self'"));
  EXPECT_THAT(csp, HasSubstr("frame-ancestors 'none'"));
  EXPECT_THAT(csp, HasSubstr("img-src 'self' data: blob: https://tiles.example.org"));
  EXPECT_THAT(csp, Not(HasSubstr("unsafe-inline")));
}

TEST_F(StaticFilesTest, ConfigIsInjectedHtmlEscapedAndTheStaleGzipOfIndexIsNotServed) {
  auto files = Load(R"({"map_tiles_url":"https://t.example/{z}/{x}/{y}.png?a=1&b=\"<x>"})");
  auto r = Find(*files, Get("/index.html", {{"accept-encoding", "gzip"}}));
  ASSERT_TRUE(r);
  EXPECT_THAT(
      r->body,
      HasSubstr(
          R"(content="{&quot;map_tiles_url&quot;:&quot;https://t.example/{z}/{x}/{y}.png?a=1&amp;b=\&quot;&lt;x&gt;&quot;}")"));
  EXPECT_THAT(r->body, Not(HasSubstr("<x>")));
  EXPECT_EQ(HeaderOf(*r, "Content-Encoding"), "");
}

TEST_F(StaticFilesTest, HashedAssetsAreImmutableAndGzippedWhenAccepted) {
  auto files = Load();
  auto plain = Find(*files, Get("/assets/app-1a2b3c.js"));
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->body, "console.log('app')");
  EXPECT_EQ(HeaderOf(*plain, "Cache-Control"), "public, max-age=31536000, immutable");
  EXPECT_EQ(HeaderOf(*plain, "Content-Type"), "text/javascript; charset=utf-8");
  EXPECT_EQ(HeaderOf(*plain, "Vary"), "Accept-Encoding");
  auto gz = Find(*files, Get("/assets/app-1a2b3c.js", {{"accept-encoding", "br, gzip;q=0.8"}}));
  ASSERT_TRUE(gz);
  EXPECT_EQ(gz->body, "GZIPPED-JS");
  EXPECT_EQ(HeaderOf(*gz, "Content-Encoding"), "gzip");
  auto refused = Find(*files, Get("/assets/app-1a2b3c.js", {{"accept-encoding", "gzip;q=0"}}));
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->body, "console.log('app')");
}

TEST_F(StaticFilesTest, ServiceWorkerAndManifestAreRevalidatedWithTheirTypes) {
  auto files = Load();
  auto sw = Find(*files, Get("/sw.js"));
  ASSERT_TRUE(sw);
  EXPECT_EQ(HeaderOf(*sw, "Cache-Control"), "no-cache");
  auto manifest = Find(*files, Get("/manifest.webmanifest"));
  ASSERT_TRUE(manifest);
  EXPECT_EQ(HeaderOf(*manifest, "Content-Type"), "application/manifest+json");
  auto icon = Find(*files, Get("/icons/icon-192.png"));
  ASSERT_TRUE(icon);
  EXPECT_EQ(HeaderOf(*icon, "Content-Type"), "image/png");
}

TEST_F(StaticFilesTest, AppPathsFallBackToIndexButMissingFilesDoNot) {
  auto files = Load();
  for (const char* path : {"/requests/01J9ZK3", "/verify-email", "/staff/queue", "/report"}) {
    auto r = Find(*files, Get(path));
    ASSERT_TRUE(r) << path;
    EXPECT_THAT(r->body, HasSubstr(R"(<div id="app">)")) << path;
  }
  EXPECT_FALSE(Find(*files, Get("/assets/app-missing.js")));
  EXPECT_FALSE(Find(*files, Get("/favicon.ico")));
}

TEST_F(StaticFilesTest, ApiPathsNeverFallBackToTheApp) {
  auto files = Load();
  for (const char* path :
       {"/v1", "/v1/requests", "/v1/unknown/route", "/v1:x", "/open311/v2/discovery", "/open311",
        "/.well-known/jwks.json", "/.well-known/other", "/openapi.json", "/healthz", "/readyz",
        "/metrics"}) {
    EXPECT_FALSE(Find(*files, Get(path))) << path;
  }
}

TEST_F(StaticFilesTest, NothingOutsideTheBuiltFilesIsReachable) {
  auto files = Load();
  EXPECT_FALSE(Find(*files, Get("/.hidden/secret.txt")));
  EXPECT_FALSE(Find(*files, Get("/../../etc/passwd")));
  EXPECT_FALSE(Find(*files, Get("/assets/../index.html.gz")));
  EXPECT_FALSE(Find(*files, Get("/index.html.gz")));
}

TEST_F(StaticFilesTest, MatchingEtagAnswersNotModified) {
  auto files = Load();
  auto first = Find(*files, Get("/sw.js"));
  ASSERT_TRUE(first);
  const std::string etag = HeaderOf(*first, "ETag");
  ASSERT_FALSE(etag.empty());
  auto again = Find(*files, Get("/sw.js", {{"if-none-match", etag}}));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 304);
  EXPECT_TRUE(again->body.empty());
  auto other = Find(*files, Get("/sw.js", {{"if-none-match", "\"something-else\""}}));
  ASSERT_TRUE(other);
  EXPECT_EQ(other->status, 200);
}

TEST_F(StaticFilesTest, LoadRefusesAMissingDirectoryOrOneWithoutIndex) {
  StaticFilesOptions options;
  options.dir = (dir_ / "nope").string();
  auto missing = StaticFiles::Load(options);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kInvalidArgument);
  fs::remove(dir_ / "index.html");
  options.dir = dir_.string();
  auto no_index = StaticFiles::Load(options);
  EXPECT_EQ(no_index.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(no_index.status().message()), HasSubstr("index.html"));
}

TEST_F(StaticFilesTest, LoadRefusesMoreThanTheLimits) {
  StaticFilesOptions options;
  options.dir = dir_.string();
  options.max_files = 2;
  EXPECT_EQ(StaticFiles::Load(options).status().code(), absl::StatusCode::kInvalidArgument);
  options.max_files = 100;
  options.max_total_bytes = 10;
  EXPECT_EQ(StaticFiles::Load(options).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(OriginOfTest, TakesSchemeAndHostOfATileTemplate) {
  EXPECT_EQ(*OriginOf("https://tile.openstreetmap.org/{z}/{x}/{y}.png"),
            "https://tile.openstreetmap.org");
  EXPECT_EQ(*OriginOf("http://127.0.0.1:8081/tiles/{z}/{x}/{y}.png"), "http://127.0.0.1:8081");
  EXPECT_EQ(*OriginOf("https://{s}.tile.example.org/{z}/{x}/{y}.png"),
            "https://*.tile.example.org");
  EXPECT_FALSE(OriginOf("javascript:alert(1)").ok());
  EXPECT_FALSE(OriginOf("https://").ok());
  EXPECT_FALSE(OriginOf("https://evil.org; script-src *").ok());
}

}  // namespace
}  // namespace cityhub::gateway
