#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <semaphore>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace cityhub::accounts {

// Argon2id cost. The floor is OWASP's recommendation: 19 MiB, 2 passes, 1 lane (libsodium
// always uses one lane).
struct Argon2Params {
  static constexpr uint64_t kMinMemoryKib = 19 * 1024;
  static constexpr uint64_t kMinIterations = 2;
  uint64_t memory_kib = kMinMemoryKib;
  uint64_t iterations = kMinIterations;
};

// Hashes and verifies passwords with libsodium's Argon2id. Each hash holds its parameters, so
// raising them later makes old hashes report `needs_rehash` at the next successful sign-in.
// At most `max_concurrent` hashes run at once (each needs memory_kib of RAM and a core for
// tens of milliseconds); callers beyond that wait up to `max_wait`, then get UNAVAILABLE.
class PasswordHasher final {
 public:
  PasswordHasher(Argon2Params params, int max_concurrent, std::chrono::milliseconds max_wait);

  absl::StatusOr<std::string> Hash(std::string_view password);

  // Whether `password` matches `hash`; `needs_rehash` tells if `hash` uses weaker parameters
  // than the current ones.
  absl::StatusOr<bool> Verify(std::string_view hash, std::string_view password,
                              bool* needs_rehash = nullptr);

  // Spends the time of one verification, for sign-ins of unknown e-mails, so that the answer
  // time does not reveal whether an account exists.
  void VerifyAgainstDummy(std::string_view password);

  const Argon2Params& params() const { return params_; }
  // Argon2id computations run so far (hashes and verifications): what a call cost, for tests.
  uint64_t computations() const { return computations_.load(std::memory_order_relaxed); }

 private:
  class Slot;

  Argon2Params params_;
  std::chrono::milliseconds max_wait_;
  std::counting_semaphore<> slots_;
  std::string dummy_hash_;
  std::atomic<uint64_t> computations_{0};
};

// 8..128 characters, not a well-known password, not the e-mail's local part or the display
// name, not one character repeated. INVALID_ARGUMENT naming `field`.
absl::Status CheckPasswordPolicy(std::string_view field, std::string_view password,
                                 std::string_view email, std::string_view display_name);

bool IsCommonPassword(std::string_view password);
// How many passwords IsCommonPassword knows (for tests and the note in docs/design.md).
size_t CommonPasswordCount();

}  // namespace cityhub::accounts
