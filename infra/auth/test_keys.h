#pragma once
// For tests: a fresh signing key whose public half is the only key `verifier` accepts.
#include <utility>
#include <vector>

#include "infra/auth/jwt.h"

namespace cityhub::infra::auth {

inline Ed25519Key TrustOnlyAFreshKey(TokenVerifier& verifier) {
  auto key = Ed25519Key::Generate();
  std::vector<Ed25519Key> keys;
  keys.push_back(*Ed25519Key::FromPublicBytes(key.public_bytes()));
  verifier.SetKeys(std::move(keys));
  return key;
}

}  // namespace cityhub::infra::auth
