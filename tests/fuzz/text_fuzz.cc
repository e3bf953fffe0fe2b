// Text handling must never crash and must always produce valid JSON, whatever the bytes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "infra/ids.h"
#include "infra/text.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cityhub::infra;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  (void)CheckText(input, 1, 4000, true);
  std::string json;
  AppendJsonString(json, input);
  // The escaped form is valid UTF-8 and holds no raw control characters.
  if (!IsValidUtf8(json) || HasControlCharacters(json, false)) std::abort();
  if (auto decoded = Base64UrlDecode(input)) {
    if (Base64UrlEncode(*decoded) != input) std::abort();  // decoding is canonical
  }
  (void)UlidTime(input);
  return 0;
}
