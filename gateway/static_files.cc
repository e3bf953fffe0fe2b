#include "gateway/static_files.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>
#include <vector>

#include "infra/ids.h"
#include "infra/status.h"
#include "infra/strings.h"
#include "infra/text.h"

namespace cityhub::gateway {
namespace {

namespace fs = std::filesystem;
using infra::StrAppend;
using infra::StrCat;

constexpr std::string_view kConfigPlaceholder = R"(<meta name="cityhub-config" content="{}">)";

std::string_view ContentTypeOf(std::string_view name) {
  static constexpr std::pair<std::string_view, std::string_view> kTypes[] = {
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},
      {".map", "application/json"},
      {".webmanifest", "application/manifest+json"},
      {".png", "image/png"},
      {".jpg", "image/jpeg"},
      {".jpeg", "image/jpeg"},
      {".webp", "image/webp"},
      {".svg", "image/svg+xml"},
      {".ico", "image/x-icon"},
      {".woff2", "font/woff2"},
      {".txt", "text/plain; charset=utf-8"},
  };
  for (const auto& [ext, type] : kTypes) {
    if (name.ends_with(ext)) return type;
  }
  return "application/octet-stream";
}

absl::StatusOr<std::string> ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::InvalidArgumentError(StrCat("cannot read ", path.string()));
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return std::move(buffer).str();
}

// Whether the client takes gzip: a `gzip` token in Accept-Encoding whose q is not 0.
bool AcceptsGzip(std::string_view header) {
  size_t start = 0;
  while (start <= header.size()) {
    size_t end = header.find(',', start);
    if (end == std::string_view::npos) end = header.size();
    std::string_view item = header.substr(start, end - start);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    const size_t semi = item.find(';');
    std::string_view coding = item.substr(0, semi);
    while (!coding.empty() && coding.back() == ' ') coding.remove_suffix(1);
    if (coding == "gzip" || coding == "*") {
      if (semi == std::string_view::npos) return true;
      std::string_view params = item.substr(semi + 1);
      const size_t q = params.find("q=");
      if (q == std::string_view::npos) return true;
      std::string_view value = params.substr(q + 2);
      // q=0, q=0.0, q=0.000 refuse it; anything else accepts.
      bool zero = !value.empty() && value.front() == '0';
      for (size_t i = 1; zero && i < value.size() && value[i] != ' ' && value[i] != ';'; ++i) {
        zero = value[i] == '.' || value[i] == '0';
      }
      return !zero;
    }
    start = end + 1;
  }
  return false;
}

// The last path segment has no dot (a route of the app, not a file) and no segment is hidden
// or a step up.
bool IsAppRoute(std::string_view path) {
  if (path.find("/.") != std::string_view::npos) return false;
  const size_t slash = path.rfind('/');
  const std::string_view last = slash == std::string_view::npos ? path : path.substr(slash + 1);
  return last.find('.') == std::string_view::npos;
}

}  // namespace

std::string ContentSecurityPolicy(std::string_view extra_image_origin) {
  std::string images = "'self' data: blob:";
  if (!extra_image_origin.empty()) StrAppend(&images, " ", extra_image_origin);
  return StrCat("default-src 'self'; script-src 'self'; style-src 'self'; img-src ", images,
                "; connect-src 'self'; worker-src 'self'; manifest-src 'self'; font-src 'self'; "
                "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'");
}

absl::StatusOr<std::string> OriginOf(std::string_view url) {
  size_t scheme_end = 0;
  if (url.starts_with("https://")) {
    scheme_end = 8;
  } else if (url.starts_with("http://")) {
    scheme_end = 7;
  } else {
    return absl::InvalidArgumentError("must start with https:// or http://");
  }
  const size_t host_end = url.find('/', scheme_end);
  const std::string_view origin = url.substr(0, host_end);
  if (origin.size() == scheme_end) return absl::InvalidArgumentError("has no host");
  for (size_t i = scheme_end; i < origin.size(); ++i) {
    const char c = origin[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '-' || c == ':' || c == '[' || c == ']';
    // A {s} subdomain placeholder becomes a wildcard: https://{s}.tile.example →
    // https://*.tile.example
    if (!ok && !(origin.substr(i).starts_with("{s}."))) {
      return absl::InvalidArgumentError("has a host with characters a URL host cannot have");
    }
    if (!ok) i += 2;
  }
  std::string result(origin);
  if (const size_t s = result.find("{s}."); s != std::string::npos) result.replace(s, 3, "*");
  return result;
}

bool StaticFiles::IsApiPath(std::string_view path) {
  static constexpr std::string_view kExact[] = {
      "/openapi.json", "/healthz", "/readyz", "/metrics", "/v1", "/open311", "/.well-known"};
  static constexpr std::string_view kPrefixes[] = {"/v1/", "/v1:", "/open311/", "/.well-known/"};
  for (auto p : kExact) {
    if (path == p) return true;
  }
  for (auto p : kPrefixes) {
    if (path.starts_with(p)) return true;
  }
  return false;
}

absl::StatusOr<std::unique_ptr<StaticFiles>> StaticFiles::Load(const StaticFilesOptions& options) {
  std::error_code ec;
  const fs::path root = fs::canonical(options.dir, ec);
  if (ec || !fs::is_directory(root)) {
    return absl::InvalidArgumentError(StrCat(options.dir, " is not a directory"));
  }
  std::unique_ptr<StaticFiles> files(new StaticFiles());
  files->csp_ = ContentSecurityPolicy(options.extra_image_origin);
  std::vector<std::pair<std::string, fs::path>> gzipped;
  for (auto it = fs::recursive_directory_iterator(root, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    const fs::path& p = it->path();
    const std::string name = p.filename().string();
    if (name.starts_with(".")) {
      if (it->is_directory()) it.disable_recursion_pending();
      continue;
    }
    if (!it->is_regular_file()) continue;
    std::string url = "/" + fs::relative(p, root).generic_string();
    if (url.ends_with(".gz")) {
      gzipped.emplace_back(url.substr(0, url.size() - 3), p);
      continue;
    }
    if (files->files_.size() >= options.max_files) {
      return absl::InvalidArgumentError(
          StrCat(options.dir, " holds more than ", options.max_files, " files"));
    }
    ASSIGN_OR_RETURN(std::string body, ReadFile(p));
    files->total_bytes_ += body.size();
    if (files->total_bytes_ > options.max_total_bytes) {
      return absl::InvalidArgumentError(
          StrCat(options.dir, " holds more than ", options.max_total_bytes, " bytes"));
    }
    File f;
    f.content_type = std::string(ContentTypeOf(name));
    // Hashed build output never changes under its name; everything else is revalidated.
    f.cache_control =
        url.starts_with("/assets/") ? "public, max-age=31536000, immutable" : "no-cache";
    f.body = std::move(body);
    files->files_.emplace(std::move(url), std::move(f));
  }
  if (ec)
    return absl::InvalidArgumentError(StrCat("cannot list ", options.dir, ": ", ec.message()));
  auto index = files->files_.find("/index.html");
  if (index == files->files_.end())
    return absl::InvalidArgumentError(StrCat(options.dir, " has no index.html"));
  bool templated = false;
  if (const size_t at = index->second.body.find(kConfigPlaceholder); at != std::string::npos) {
    index->second.body.replace(at, kConfigPlaceholder.size(),
                               StrCat(R"(<meta name="cityhub-config" content=")",
                                      infra::EscapeHtml(options.config_json), R"(">)"));
    templated = true;
  }
  for (auto& [url, path] : gzipped) {
    auto it = files->files_.find(url);
    // A compressed copy of a page changed here would be stale: such a page goes uncompressed.
    if (it == files->files_.end() || (templated && url == "/index.html")) continue;
    ASSIGN_OR_RETURN(std::string gz, ReadFile(path));
    files->total_bytes_ += gz.size();
    it->second.gzip = std::move(gz);
  }
  for (auto& [url, f] : files->files_) {
    f.etag = StrCat("\"", infra::HexEncode(infra::Sha256(f.body).substr(0, 12)), "\"");
  }
  return files;
}

HttpResponse StaticFiles::Answer(const File& file, const HttpRequest& request) const {
  HttpResponse r;
  r.headers = {{"Content-Type", file.content_type},
               {"Cache-Control", file.cache_control},
               {"ETag", file.etag},
               {"Content-Security-Policy", csp_}};
  if (!file.gzip.empty()) r.headers.emplace_back("Vary", "Accept-Encoding");
  const std::string_view if_none_match = request.header("if-none-match");
  if (!if_none_match.empty() && if_none_match.find(file.etag) != std::string_view::npos) {
    r.status = 304;
    return r;
  }
  if (!file.gzip.empty() && AcceptsGzip(request.header("accept-encoding"))) {
    r.headers.emplace_back("Content-Encoding", "gzip");
    r.body = file.gzip;
  } else {
    r.body = file.body;
  }
  return r;
}

std::optional<HttpResponse> StaticFiles::Find(std::string_view path,
                                              const HttpRequest& request) const {
  if (IsApiPath(path)) return std::nullopt;
  if (path == "/") path = "/index.html";
  if (auto it = files_.find(path); it != files_.end()) return Answer(it->second, request);
  if (!IsAppRoute(path)) return std::nullopt;
  return Answer(files_.at("/index.html"), request);
}

}  // namespace cityhub::gateway
