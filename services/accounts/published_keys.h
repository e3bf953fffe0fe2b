#pragma once

#include <vector>

#include "cityhub/accounts/v1/accounts.pb.h"
#include "infra/auth/jwt.h"

namespace cityhub::accounts {

// The public keys of the service: published in the JWKS (GetJwks) for the other verifiers,
// and accepted by its own verifier.
struct PublishedKeys {
  cityhub::accounts::v1::Jwks jwks;
  std::vector<infra::auth::Ed25519Key> verify_keys;
};

// The signing key first, then `previous` (may be null) while tokens signed with it may still
// be alive, so that keys can rotate without signing anyone out. A previous key equal to the
// signing key is listed once.
PublishedKeys PublishKeys(const infra::auth::Ed25519Key& signing,
                          const infra::auth::Ed25519Key* previous);

}  // namespace cityhub::accounts
