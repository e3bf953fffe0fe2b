// Uploaded bytes must never crash the image code, and stripping must keep images readable.
#include <cstdlib>
#include <string_view>

#include "services/requests/media.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  auto info = cityhub::requests::SniffImage(input);
  if (!info.ok()) return 0;
  auto stripped = cityhub::requests::StripMetadata(input, *info);
  if (stripped.ok() && stripped->size() > input.size()) std::abort();  // stripping only removes
  return 0;
}
