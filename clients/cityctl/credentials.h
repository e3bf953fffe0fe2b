#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace cityhub::cityctl {

// One server that cityctl signs in to, with the session's tokens (empty when signed out).
struct Context {
  std::string server;  // base URL, e.g. https://cityhub.bielefeld.de (no trailing slash)
  std::string email;
  std::string access_token;
  std::string refresh_token;
  int64_t expires_at_ms = 0;  // when the access token expires (ms since the epoch)
};

// The credentials file: named contexts and which one commands use by default.
struct Credentials {
  std::string current_context;
  std::map<std::string, Context> contexts;
};

// Where the file lives: $CITYHUB_CONFIG (a file path, for tests and several setups), else
// $XDG_CONFIG_HOME/cityhub/credentials, else $HOME/.config/cityhub/credentials. Empty when none
// of these variables is set.
std::string CredentialsPath();

// Reads the file; a missing file is an empty Credentials. Errors (as text in `error`): unreadable,
// larger than 1 MiB, not the expected JSON.
std::optional<Credentials> LoadCredentials(const std::string& path, std::string* error);

// Writes the file atomically (a temporary file in the same folder, fsync, rename) with mode 0600,
// creating the folder with mode 0700 if needed. Returns false with `error` set on failure.
bool SaveCredentials(const std::string& path, const Credentials& credentials, std::string* error);

// Writes `content` to `path` atomically with mode 0600 (also used for `export -f`).
bool WritePrivateFile(const std::string& path, const std::string& content, std::string* error);

// Reads a whole file of at most `max_bytes`; false with `error` naming the file otherwise.
bool ReadSmallFile(const std::string& path, size_t max_bytes, std::string* out, std::string* error);

}  // namespace cityhub::cityctl
