#include "services/requests/media_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <utility>

#include "infra/ids.h"
#include "infra/strings.h"
#include "services/requests/keys.h"

namespace cityhub::requests {

using infra::StrCat;

bool IsMediaId(std::string_view id) {
  if (id.size() != 64) return false;
  for (char c : id) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

MediaStore::MediaStore(infra::redis::Client& redis, std::string directory)
    : redis_(redis), directory_(std::move(directory)) {}

std::string MediaStore::PathOf(std::string_view id) const {
  return StrCat(directory_, "/", id.substr(0, 2), "/", id);
}

absl::StatusOr<std::string> MediaStore::Put(std::string_view data, const StoredMedia& meta) {
  const std::string id = infra::HexEncode(infra::Sha256(data));
  const std::string path = PathOf(id);
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    std::filesystem::create_directories(StrCat(directory_, "/", id.substr(0, 2)), ec);
    // Written to a temporary name, flushed, then renamed: a crash leaves no half photo.
    const std::string tmp = StrCat(path, ".tmp.", infra::HexEncode(infra::RandomBytes(6)));
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    if (fd < 0)
      return absl::UnavailableError(StrCat("media: cannot write: ", std::strerror(errno)));
    size_t written = 0;
    while (written < data.size()) {
      const ssize_t n = ::write(fd, data.data() + written, data.size() - written);
      if (n <= 0) {
        ::close(fd);
        ::unlink(tmp.c_str());
        return absl::UnavailableError("media: cannot write the file");
      }
      written += static_cast<size_t>(n);
    }
    const bool synced = ::fsync(fd) == 0;
    ::close(fd);
    if (!synced || ::rename(tmp.c_str(), path.c_str()) != 0) {
      ::unlink(tmp.c_str());
      return absl::UnavailableError("media: cannot store the file");
    }
  }
  auto stored = redis_.Command({"SET", keys::Media(id), meta.SerializeAsString(), "NX"});
  if (!stored.ok()) return stored.status();
  return id;
}

MediaFile::MediaFile(MediaFile&& other) noexcept
    : meta_(std::move(other.meta_)), fd_(std::exchange(other.fd_, -1)), size_(other.size_) {}

MediaFile::~MediaFile() {
  if (fd_ >= 0) ::close(fd_);
}

absl::StatusOr<std::string> MediaFile::Read(int64_t offset, size_t max) const {
  if (offset < 0 || offset > size_) return absl::OutOfRangeError("media: read past the end");
  std::string out(static_cast<size_t>(std::min<int64_t>(size_ - offset, max)), '\0');
  size_t done = 0;
  while (done < out.size()) {
    const ssize_t n = ::pread(fd_, out.data() + done, out.size() - done,
                              static_cast<off_t>(offset + static_cast<int64_t>(done)));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return absl::UnavailableError(StrCat("media: cannot read: ", std::strerror(errno)));
    if (n == 0) return absl::DataLossError("media: the file is shorter than when opened");
    done += static_cast<size_t>(n);
  }
  return out;
}

absl::StatusOr<MediaFile> MediaStore::Open(std::string_view id) {
  auto raw = infra::redis::AsString(redis_.Command({"GET", keys::Media(id)}));
  if (!raw.ok()) {
    if (raw.status().code() == absl::StatusCode::kNotFound)
      return absl::NotFoundError("media not found");
    return raw.status();
  }
  StoredMedia meta;
  if (!meta.ParseFromString(*raw)) return absl::DataLossError("media metadata damaged");
  const int fd = ::open(PathOf(id).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return absl::NotFoundError("media not found");
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    return absl::UnavailableError("media: cannot read the file");
  }
  return MediaFile(std::move(meta), fd, static_cast<int64_t>(st.st_size));
}

absl::StatusOr<std::vector<bool>> MediaStore::Exist(const std::vector<std::string>& ids) {
  std::vector<infra::redis::Args> commands;
  for (const auto& id : ids) commands.push_back({"EXISTS", keys::Media(id)});
  auto replies = redis_.Pipeline(commands);
  if (!replies.ok()) return replies.status();
  std::vector<bool> out;
  for (const auto& r : *replies) out.push_back(r.is_integer() && r.integer() == 1);
  return out;
}

absl::StatusOr<std::vector<bool>> MediaStore::Hidden(const std::vector<std::string>& ids) {
  std::vector<infra::redis::Args> commands;
  for (const auto& id : ids) commands.push_back({"EXISTS", keys::MediaHidden(id)});
  if (commands.empty()) return std::vector<bool>();
  auto replies = redis_.Pipeline(commands);
  if (!replies.ok()) return replies.status();
  std::vector<bool> out;
  for (const auto& r : *replies) out.push_back(r.is_integer() && r.integer() == 1);
  return out;
}

infra::redis::Args MediaStore::HideCommand(std::string_view id) {
  return {"SET", keys::MediaHidden(id), "1"};
}

}  // namespace cityhub::requests
