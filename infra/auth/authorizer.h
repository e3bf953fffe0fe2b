#pragma once

#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "cityhub/api/annotations.pb.h"
#include "infra/auth/access.h"
#include "infra/auth/deleted_accounts.h"
#include "infra/auth/jwt.h"

namespace grpc {
class ServerContextBase;
}

namespace cityhub::infra::auth {

inline constexpr char kInternalTokenKey[] = "x-cityhub-internal";

// Who is calling, as established from the call's metadata.
struct Caller {
  // Empty for anonymous callers.
  std::string account_id;
  std::vector<std::string> roles;
  std::vector<std::string> departments;
  bool email_verified = false;
  // The refresh-token family the access token was issued for.
  std::string session_id;
  // Presented the internal token: a cityhub component (gateway or service).
  bool internal = false;
  // The end user's address: from x-client-address when an internal component forwards the
  // call, the socket peer otherwise.
  std::string client_address;

  bool signed_in() const { return !account_id.empty(); }
  bool is_admin() const;
  // Operators and admins.
  bool is_staff() const;
  // Admins, and operators of `department`.
  bool WorksFor(std::string_view department) const;
};

// Enforces each method's access policy (the cityhub.api.policy option) and returns the caller.
// Methods without a policy are refused: access is never granted by omission.
class Authorizer final {
 public:
  // `refresh_keys` is called when a token names a key id the verifier does not know (key
  // rotation); it returns true when it loaded new keys, and the token is checked once more.
  // `service_full_name` is a service of the generated descriptor pool, e.g.
  // v1::AccountsService::service_full_name().
  Authorizer(std::string_view service_full_name, const TokenVerifier& verifier,
             std::string internal_token, std::function<bool()> refresh_keys = {});

  // From now on, methods that change data (an HTTP mapping other than GET) refuse callers
  // whose account `deleted` marks as deleted. Set once at start, before serving.
  void set_deleted_accounts(const DeletedAccounts* deleted) { deleted_ = deleted; }
  const DeletedAccounts* deleted_accounts() const { return deleted_; }

  // UNAUTHENTICATED for a missing token where one is needed or any bad token (even on public
  // methods: a bad token is never silently ignored), and for a still valid token of a deleted
  // account on a method that changes data; PERMISSION_DENIED for too few rights.
  // A write method's check is a Redis round trip: authorize writes only on an executor (reads,
  // such as GetRequest on a callback thread, never touch Redis here).
  absl::StatusOr<Caller> Authorize(const grpc::ServerContextBase& ctx,
                                   std::string_view method) const;

  // Whether `method` changes data: it has an HTTP mapping and that is not GET.
  bool IsWrite(std::string_view method) const;

  cityhub::api::Access AccessOf(std::string_view method) const;

  // Whether Authorize may block for this call: its bearer token names a key id the verifier
  // does not know, so `refresh_keys` would be called first (an outbound call). A handler on a
  // thread that must not block authorizes such a call on its executor instead.
  bool MayBlock(const grpc::ServerContextBase& ctx) const;

 private:
  const TokenVerifier& verifier_;
  std::string internal_token_;
  std::function<bool()> refresh_keys_;
  const DeletedAccounts* deleted_ = nullptr;
  std::map<std::string, cityhub::api::Access, std::less<>> access_;
  std::set<std::string, std::less<>> writes_;
};

}  // namespace cityhub::infra::auth
