#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "gateway/http_server.h"

// The web app (resident app and staff console) served from a directory on the API's own origin.
// Every file is read once at start-up into memory, so a request never touches the file system
// (nothing blocks an io thread, and no path a client sends can reach outside the directory: a
// path is only ever a key of this map). Deploying a new app means restarting the gateway, as
// with any other release.
namespace cityhub::gateway {

struct StaticFilesOptions {
  std::string dir;
  // Replaces the `{}` of `<meta name="cityhub-config" content="{}">` in index.html (HTML-escaped).
  std::string config_json = "{}";
  // Origins images may come from besides the app itself (map tiles), for the CSP's img-src.
  std::string extra_image_origin;
  size_t max_files = 4000;
  size_t max_total_bytes = 64u << 20;
};

class StaticFiles final {
 public:
  // INVALID_ARGUMENT (naming the directory or the file) when the directory is missing, holds no
  // index.html, or exceeds the limits.
  static absl::StatusOr<std::unique_ptr<StaticFiles>> Load(const StaticFilesOptions& options);

  // The answer to a GET or HEAD of `path`: the file, or index.html for an app path (the last
  // segment has no dot) that is not one of the API's own prefixes; nullopt otherwise, so the
  // caller answers its usual 404. A matching If-None-Match answers 304; a client that accepts
  // gzip gets the precompressed `.gz` sibling where the build made one.
  std::optional<HttpResponse> Find(std::string_view path, const HttpRequest& request) const;

  // True for paths that belong to the API and never fall back to the app.
  static bool IsApiPath(std::string_view path);

  const std::string& content_security_policy() const { return csp_; }
  size_t file_count() const { return files_.size(); }
  size_t total_bytes() const { return total_bytes_; }

 private:
  struct File {
    std::string body;
    std::string gzip;  // empty: no precompressed copy
    std::string content_type;
    std::string cache_control;
    std::string etag;
  };
  StaticFiles() = default;
  HttpResponse Answer(const File& file, const HttpRequest& request) const;

  std::map<std::string, File, std::less<>> files_;
  std::string csp_;
  size_t total_bytes_ = 0;
};

// The Content-Security-Policy of the app: only its own scripts, styles and connections; images
// also from `extra_image_origin` when given (map tiles), data: and blob: (photo previews).
std::string ContentSecurityPolicy(std::string_view extra_image_origin);

// "scheme://host[:port]" of an http(s) URL template, or INVALID_ARGUMENT.
absl::StatusOr<std::string> OriginOf(std::string_view url);

}  // namespace cityhub::gateway
