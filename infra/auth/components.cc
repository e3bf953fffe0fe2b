#include "infra/auth/components.h"

#include <functional>

#include "infra/auth/deleted_accounts.h"
#include "infra/auth/jwks_client.h"

namespace cityhub::infra::auth {

Authorizer& AddAuthorizer(Components& graph, const AuthorizerOptions& options, redis::Client& redis,
                          const Clock& clock) {
  auto& verifier = graph.Make<TokenVerifier>(options.tokens, clock);
  auto& jwks = graph.MakeWorker<JwksClient>("jwks", options.accounts, verifier);
  auto& authorizer =
      graph.Make<Authorizer>(options.service_full_name, verifier, options.internal_token,
                             std::function<bool()>([&jwks] { return jwks.RefreshIfDue(); }));
  auto& deleted = graph.Make<DeletedAccounts>(redis, std::string(options.deleted_area));
  authorizer.set_deleted_accounts(&deleted);
  return authorizer;
}

}  // namespace cityhub::infra::auth
