// AccountsService: signing keys, account administration, roles and partner keys.
#include "services/accounts/accounts_service.h"

#include <set>

#include "infra/grpc/unary.h"
#include "infra/ids.h"
#include "infra/status.h"
#include "infra/strings.h"
#include "infra/text.h"
#include "services/accounts/service_helpers.h"
#include "services/accounts/validation.h"

namespace cityhub::accounts {
namespace {

using infra::InvalidField;
using infra::StrCat;

}  // namespace

absl::Status AccountsService::DoGetJwks(grpc::ServerContextBase* ctx, const v1::GetJwksRequest*,
                                        v1::Jwks* response) {
  ASSIGN_OR_RETURN(auto caller, Authorize(ctx, "GetJwks"));
  *response = deps_.jwks;
  return absl::OkStatus();
}

absl::Status AccountsService::DoGetAccount(grpc::ServerContextBase* ctx,
                                           const v1::GetAccountRequest* req,
                                           v1::Account* response) {
  ASSIGN_OR_RETURN(auto caller, Authorize(ctx, "GetAccount"));
  if (!infra::IsUlid(req->account_id())) return InvalidField("account_id", "not an account id");
  ASSIGN_OR_RETURN(auto account, deps_.accounts.Get(req->account_id()));
  ToProto(account, response);
  return absl::OkStatus();
}

absl::Status AccountsService::DoListAccounts(grpc::ServerContextBase* ctx,
                                             const v1::ListAccountsRequest* req,
                                             v1::ListAccountsResponse* response) {
  ASSIGN_OR_RETURN(auto caller, Authorize(ctx, "ListAccounts"));
  ASSIGN_OR_RETURN(auto email, NormalizeEmail("email", req->email()));
  auto id = deps_.accounts.IdForEmail(email.key);
  if (!id.ok() && id.status().code() == absl::StatusCode::kNotFound) return absl::OkStatus();
  RETURN_IF_ERROR(id);
  auto account = deps_.accounts.Get(*id);
  if (!account.ok() && account.status().code() == absl::StatusCode::kNotFound)
    return absl::OkStatus();
  RETURN_IF_ERROR(account);
  ToProto(*account, response->add_accounts());
  return absl::OkStatus();
}

absl::Status AccountsService::DoSetRoles(grpc::ServerContextBase* ctx,
                                         const v1::SetRolesRequest* req, v1::Account* response) {
  ASSIGN_OR_RETURN(auto caller, Authorize(ctx, "SetRoles"));
  if (!infra::IsUlid(req->account_id())) return InvalidField("account_id", "not an account id");
  std::set<std::string> roles = {"citizen"};
  for (const std::string& r : req->roles()) {
    if (r != "citizen" && r != "operator" && r != "admin") {
      return InvalidField("roles", "each must be citizen, operator or admin");
    }
    roles.insert(r);
  }
  if (req->departments_size() > 32) return InvalidField("departments", "at most 32");
  std::set<std::string> departments;
  for (const std::string& d : req->departments()) {
    if (!IsValidDepartment(d)) {
      return InvalidField("departments", "each must be 1..64 characters of a-z, 0-9, _ or -");
    }
    departments.insert(d);
  }
  if (roles.count("operator") > 0 && roles.count("admin") == 0 && departments.empty()) {
    return InvalidField("departments", "an operator needs at least one department");
  }
  if (req->account_id() == caller.account_id && roles.count("admin") == 0) {
    return absl::FailedPreconditionError("admins cannot take their own admin role");
  }
  const std::vector<std::string> role_list(roles.begin(), roles.end());
  const std::vector<std::string> department_list(departments.begin(), departments.end());
  Events events(1, NewEvent(ctx));
  auto* changed = events[0].mutable_roles_changed();
  changed->set_account_id(req->account_id());
  for (const auto& r : role_list) changed->add_roles(r);
  for (const auto& d : department_list) changed->add_departments(d);
  RETURN_IF_ERROR(
      deps_.accounts.Update(req->account_id(),
                            {{"roles", JoinList(role_list)},
                             {"departments", JoinList(department_list)},
                             {"updated_ms", std::to_string(infra::UnixMillis(deps_.clock.Now()))}},
                            events));
  Audit(req->account_id(), "roles_changed", caller,
        StrCat("roles=", JoinList(role_list), " departments=", JoinList(department_list),
               " by=", caller.account_id));
  ASSIGN_OR_RETURN(auto account, deps_.accounts.Get(req->account_id()));
  ToProto(account, response);
  return absl::OkStatus();
}

absl::Status AccountsService::DoCreateApiKey(grpc::ServerContextBase* ctx,
                                             const v1::CreateApiKeyRequest* req,
                                             v1::CreatedApiKey* response) {
  ASSIGN_OR_RETURN(auto caller, Authorize(ctx, "CreateApiKey"));
  if (auto problem = infra::CheckText(req->name(), 1, 100, false)) {
    return InvalidField("name", *problem);
  }
  const auto now = deps_.clock.Now();
  const StoredApiKey key{infra::NewUlid(now), req->name(), infra::UnixMillis(now)};
  const std::string secret = StrCat("ck_", infra::RandomToken(32));
  RETURN_IF_ERROR(deps_.api_keys.Create(key, TokenHash(secret)));
  deps_.metrics.TokenIssued(TokenPurpose::kApiKey);
  response->set_api_key_id(key.id);
  response->set_name(key.name);
  response->set_api_key(secret);
  *response->mutable_created_at() = Millis(key.created_ms);
  return absl::OkStatus();
}

absl::Status AccountsService::DoListApiKeys(grpc::ServerContextBase* ctx,
                                            const v1::ListApiKeysRequest*,
                                            v1::ListApiKeysResponse* response) {
  ASSIGN_OR_RETURN(auto caller, Authorize(ctx, "ListApiKeys"));
  ASSIGN_OR_RETURN(auto keys, deps_.api_keys.List());
  for (const StoredApiKey& k : keys) {
    auto* out = response->add_api_keys();
    out->set_api_key_id(k.id);
    out->set_name(k.name);
    *out->mutable_created_at() = Millis(k.created_ms);
  }
  return absl::OkStatus();
}

absl::Status AccountsService::DoDeleteApiKey(grpc::ServerContextBase* ctx,
                                             const v1::DeleteApiKeyRequest* req,
                                             v1::DeleteApiKeyResponse*) {
  ASSIGN_OR_RETURN(auto caller, Authorize(ctx, "DeleteApiKey"));
  if (!infra::IsUlid(req->api_key_id())) return InvalidField("api_key_id", "not an api key id");
  return deps_.api_keys.Delete(req->api_key_id());
}

absl::Status AccountsService::DoGetContact(grpc::ServerContextBase* ctx,
                                           const v1::GetContactRequest* req,
                                           v1::Contact* response) {
  ASSIGN_OR_RETURN(auto caller, Authorize(ctx, "GetContact"));
  if (!infra::IsUlid(req->account_id())) return InvalidField("account_id", "not an account id");
  ASSIGN_OR_RETURN(auto account, deps_.accounts.Get(req->account_id()));
  response->set_account_id(account.id);
  response->set_email(account.email);
  response->set_email_verified(account.verified);
  response->set_display_name(account.display_name);
  response->set_language(account.language);
  for (const auto& r : account.roles) response->add_roles(r);
  for (const auto& d : account.departments) response->add_departments(d);
  return absl::OkStatus();
}

absl::Status AccountsService::DoCheckApiKey(grpc::ServerContextBase* ctx,
                                            const v1::CheckApiKeyRequest* req,
                                            v1::CheckApiKeyResponse* response) {
  ASSIGN_OR_RETURN(auto caller, Authorize(ctx, "CheckApiKey"));
  if (req->api_key().empty() || req->api_key().size() > 128) {
    return absl::PermissionDeniedError("api_key: missing or unknown");
  }
  auto key = deps_.api_keys.FindByHash(TokenHash(req->api_key()));
  if (!key.ok()) {
    return key.status().code() == absl::StatusCode::kNotFound
               ? absl::PermissionDeniedError("api_key: missing or unknown")
               : key.status();
  }
  response->set_api_key_id(key->id);
  response->set_name(key->name);
  return absl::OkStatus();
}

}  // namespace cityhub::accounts
