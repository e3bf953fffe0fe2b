#include "services/accounts/published_keys.h"

#include "infra/ids.h"

namespace cityhub::accounts {

PublishedKeys PublishKeys(const infra::auth::Ed25519Key& signing,
                          const infra::auth::Ed25519Key* previous) {
  PublishedKeys out;
  const bool distinct_previous = previous != nullptr && previous->kid() != signing.kid();
  for (const infra::auth::Ed25519Key* key : {&signing, distinct_previous ? previous : nullptr}) {
    if (key == nullptr) continue;
    auto* k = out.jwks.add_keys();
    k->set_kty("OKP");
    k->set_crv("Ed25519");
    k->set_x(infra::Base64UrlEncode(key->public_bytes()));
    k->set_kid(key->kid());
    k->set_use("sig");
    k->set_alg("EdDSA");
    // 32 bytes taken from a valid key: cannot fail.
    out.verify_keys.push_back(
        infra::auth::Ed25519Key::FromPublicBytes(key->public_bytes()).value());
  }
  return out;
}

}  // namespace cityhub::accounts
