#include "infra/ids.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <random>

namespace cityhub::infra {
namespace {

constexpr char kCrockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

int CrockfordValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  for (int i = 10; i < 32; ++i) {
    if (kCrockford[i] == c) return i;
  }
  return -1;
}

}  // namespace

std::string RandomBytes(size_t n) {
  std::string out(n, '\0');
  if (n > 0 && RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
    std::abort();  // no entropy: nothing secure can be done
  }
  return out;
}

namespace {

std::string EncodeUlid(Clock::time_point t, std::string_view random) {
  const uint64_t ms = static_cast<uint64_t>(UnixMillis(t)) & ((uint64_t{1} << 48) - 1);
  std::array<uint8_t, 16> bytes{};
  for (int i = 0; i < 6; ++i) bytes[i] = static_cast<uint8_t>(ms >> (8 * (5 - i)));
  for (int i = 0; i < 10; ++i) bytes[6 + i] = static_cast<uint8_t>(random[i]);
  // 128 bits as 26 base32 digits: the first digit carries the top 3 bits.
  std::string out(26, '0');
  unsigned __int128 v = 0;
  for (uint8_t b : bytes) v = (v << 8) | b;
  for (int i = 25; i >= 0; --i) {
    out[i] = kCrockford[static_cast<int>(v & 31)];
    v >>= 5;
  }
  return out;
}

}  // namespace

std::string NewUlid(Clock::time_point t) {
  // Monotonic within a millisecond (the ULID spec's monotonic mode): an id made in the same
  // millisecond as the previous one in this process is that one's random part plus one, so ids
  // made one after another sort in the order they were made, not by chance.
  static std::mutex mu;
  static int64_t last_ms = -1;
  static std::array<uint8_t, 10> last{};
  const int64_t ms = UnixMillis(t);
  std::array<uint8_t, 10> random{};
  {
    std::lock_guard lock(mu);
    bool carried = true;
    if (ms == last_ms) {
      random = last;
      for (int i = 9; i >= 0 && carried; --i) carried = ++random[i] == 0;
    }
    if (carried) {  // a new millisecond (or, once in 2^80, an overflow): fresh randomness
      const std::string fresh = RandomBytes(10);
      std::memcpy(random.data(), fresh.data(), 10);
    }
    last_ms = ms;
    last = random;
  }
  return EncodeUlid(t, std::string_view(reinterpret_cast<const char*>(random.data()), 10));
}

std::string NewUlid(const Clock& clock) { return NewUlid(clock.Now()); }

std::string NewTraceId(Clock::time_point t) {
  thread_local std::mt19937_64 rng = [] {
    const std::string seed = RandomBytes(8);
    uint64_t s = 0;
    std::memcpy(&s, seed.data(), sizeof(s));
    return std::mt19937_64(s);
  }();
  char random[16];
  const uint64_t a = rng(), b = rng();
  std::memcpy(random, &a, 8);
  std::memcpy(random + 8, &b, 8);
  return EncodeUlid(t, std::string_view(random, 10));
}

bool IsUlid(std::string_view s) {
  // The syntax only: 26 Crockford digits within 128 bits. An id whose time lies past what a
  // time_point holds (2262) is still an id (the API's pattern accepts it); only UlidTime
  // refuses it.
  if (s.size() != 26 || CrockfordValue(s[0]) > 7) return false;
  for (char c : s)
    if (CrockfordValue(c) < 0) return false;
  return true;
}

std::optional<Clock::time_point> UlidTime(std::string_view s) {
  if (s.size() != 26) return std::nullopt;
  if (CrockfordValue(s[0]) > 7) return std::nullopt;  // would overflow 128 bits
  uint64_t ms = 0;
  for (size_t i = 0; i < 26; ++i) {
    const int v = CrockfordValue(s[i]);
    if (v < 0) return std::nullopt;
    if (i < 10) ms = (ms << 5) | static_cast<uint64_t>(v);
  }
  // The first 10 digits hold 50 bits: two always-zero padding bits, then the 48-bit time. A
  // time_point ends in 2262, before 48 bits of milliseconds do: later ids are refused, not
  // overflowed (found by tests/fuzz/text_fuzz).
  constexpr auto kLastMs =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::time_point::duration::max())
          .count();
  if (ms > static_cast<uint64_t>(kLastMs)) return std::nullopt;
  return Clock::time_point(std::chrono::milliseconds(ms));
}

double UlidSortScore(std::string_view ulid) {
  if (ulid.size() != 26) return 0;
  int64_t ms = 0;
  for (int i = 0; i < 10; ++i) ms = (ms << 5) | std::max(0, CrockfordValue(ulid[i]));
  const int64_t top12 = (std::max(0, CrockfordValue(ulid[10])) << 7) |
                        (std::max(0, CrockfordValue(ulid[11])) << 2) |
                        (std::max(0, CrockfordValue(ulid[12])) >> 3);
  return static_cast<double>(ms * 4096 + top12);
}

std::string RandomToken(size_t n) { return Base64UrlEncode(RandomBytes(n)); }

std::string Base64UrlEncode(std::string_view data) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < data.size(); i += 3) {
    const uint32_t v = (static_cast<uint8_t>(data[i]) << 16) |
                       (static_cast<uint8_t>(data[i + 1]) << 8) | static_cast<uint8_t>(data[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (i + 1 == data.size()) {
    const uint32_t v = static_cast<uint8_t>(data[i]) << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
  } else if (i + 2 == data.size()) {
    const uint32_t v =
        (static_cast<uint8_t>(data[i]) << 16) | (static_cast<uint8_t>(data[i + 1]) << 8);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
  }
  return out;
}

std::optional<std::string> Base64UrlDecode(std::string_view text) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-') return 62;
    if (c == '_') return 63;
    return -1;
  };
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(text.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    const int v = value(c);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  // Leftover bits must be zero, so that every byte string has exactly one encoding.
  if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

std::string HexEncode(std::string_view data) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(data.size() * 2);
  for (unsigned char c : data) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

std::string Sha256(std::string_view data) {
  std::string out(32, '\0');
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), reinterpret_cast<unsigned char*>(out.data()), &len,
             EVP_sha256(), nullptr);
  return out;
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace cityhub::infra
