#include "clients/cityctl/credentials.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

namespace cityhub::cityctl {
namespace {

using json = nlohmann::json;

constexpr size_t kMaxCredentialsBytes = 1u << 20;

std::string Env(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? "" : value;
}

// Creates every missing folder of `dir` with mode 0700.
bool MakeDirs(const std::string& dir, std::string* error) {
  if (dir.empty()) return true;
  std::string partial;
  std::stringstream parts(dir);
  std::string part;
  if (dir.front() == '/') partial = "/";
  while (std::getline(parts, part, '/')) {
    if (part.empty()) continue;
    partial += part;
    if (mkdir(partial.c_str(), 0700) != 0 && errno != EEXIST) {
      *error = "cannot create " + partial + ": " + std::strerror(errno);
      return false;
    }
    partial += '/';
  }
  return true;
}

}  // namespace

std::string CredentialsPath() {
  if (const std::string path = Env("CITYHUB_CONFIG"); !path.empty()) return path;
  if (const std::string xdg = Env("XDG_CONFIG_HOME"); !xdg.empty()) {
    return xdg + "/cityhub/credentials";
  }
  if (const std::string home = Env("HOME"); !home.empty()) {
    return home + "/.config/cityhub/credentials";
  }
  return "";
}

bool ReadSmallFile(const std::string& path, size_t max_bytes, std::string* out,
                   std::string* error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *error = path + ": " + std::strerror(errno);
    return false;
  }
  out->clear();
  char buffer[65536];
  while (in.read(buffer, sizeof(buffer)) || in.gcount() > 0) {
    out->append(buffer, static_cast<size_t>(in.gcount()));
    if (out->size() > max_bytes) {
      *error = path + ": larger than " + std::to_string(max_bytes) + " bytes";
      return false;
    }
  }
  if (in.bad()) {
    *error = path + ": read error";
    return false;
  }
  return true;
}

std::optional<Credentials> LoadCredentials(const std::string& path, std::string* error) {
  Credentials credentials;
  struct stat st {};
  if (stat(path.c_str(), &st) != 0 && errno == ENOENT) return credentials;
  std::string text;
  if (!ReadSmallFile(path, kMaxCredentialsBytes, &text, error)) return std::nullopt;
  try {
    const json doc = json::parse(text);
    credentials.current_context = doc.value("current_context", "");
    if (!doc.is_object()) throw json::type_error::create(302, "not an object", nullptr);
    const json& contexts = doc.contains("contexts") ? doc["contexts"] : doc;
    for (const auto& [name, c] : contexts.items()) {
      if (&contexts == &doc) break;
      Context context;
      context.server = c.value("server", "");
      context.email = c.value("email", "");
      context.access_token = c.value("access_token", "");
      context.refresh_token = c.value("refresh_token", "");
      context.expires_at_ms = c.value("expires_at_ms", int64_t{0});
      credentials.contexts[name] = context;
    }
  } catch (const json::exception&) {
    *error = path + ": not a cityctl credentials file (remove it and log in again)";
    return std::nullopt;
  }
  return credentials;
}

bool WritePrivateFile(const std::string& path, const std::string& content, std::string* error) {
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "" : path.substr(0, slash);
  if (!MakeDirs(dir, error)) return false;
  const std::string temp = path + ".tmp." + std::to_string(getpid());
  const int fd = open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    *error = "cannot write " + temp + ": " + std::strerror(errno);
    return false;
  }
  // The mode of a file left behind by an earlier run is narrowed too.
  bool ok = fchmod(fd, 0600) == 0;
  size_t done = 0;
  while (ok && done < content.size()) {
    const ssize_t n = write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) done += static_cast<size_t>(n);
  }
  ok = ok && fsync(fd) == 0;
  const int saved = errno;
  ok = close(fd) == 0 && ok;
  if (!ok || rename(temp.c_str(), path.c_str()) != 0) {
    *error = "cannot write " + path + ": " + std::strerror(ok ? errno : saved);
    unlink(temp.c_str());
    return false;
  }
  return true;
}

bool SaveCredentials(const std::string& path, const Credentials& credentials, std::string* error) {
  json contexts = json::object();
  for (const auto& [name, c] : credentials.contexts) {
    contexts[name] = {{"server", c.server},
                      {"email", c.email},
                      {"access_token", c.access_token},
                      {"refresh_token", c.refresh_token},
                      {"expires_at_ms", c.expires_at_ms}};
  }
  const json doc = {{"current_context", credentials.current_context}, {"contexts", contexts}};
  return WritePrivateFile(path, doc.dump(2) + "\n", error);
}

}  // namespace cityhub::cityctl
