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

using infra::Done;
using infra::InvalidField;
using infra::StrCat;

}  // namespace

grpc::Status AccountsService::DoGetJwks(grpc::ServerContextBase* ctx, const v1::GetJwksRequest*,
                                        v1::Jwks* response) {
  auto caller = Authorize(ctx, "GetJwks");
  if (!caller.ok()) return Done(ctx, caller.status());
  *response = deps_.jwks;
  return grpc::Status::OK;
}

grpc::Status AccountsService::DoGetAccount(grpc::ServerContextBase* ctx,
                                           const v1::GetAccountRequest* req,
                                           v1::Account* response) {
  auto caller = Authorize(ctx, "GetAccount");
  if (!caller.ok()) return Done(ctx, caller.status());
  if (!infra::IsUlid(req->account_id()))
    return Done(ctx, InvalidField("account_id", "not an account id"));
  auto account = deps_.accounts.Get(req->account_id());
  if (!account.ok()) return Done(ctx, account.status());
  ToProto(*account, response);
  return grpc::Status::OK;
}

grpc::Status AccountsService::DoListAccounts(grpc::ServerContextBase* ctx,
                                             const v1::ListAccountsRequest* req,
                                             v1::ListAccountsResponse* response) {
  auto caller = Authorize(ctx, "ListAccounts");
  if (!caller.ok()) return Done(ctx, caller.status());
  auto email = NormalizeEmail("email", req->email());
  if (!email.ok()) return Done(ctx, email.status());
  auto id = deps_.accounts.IdForEmail(email->key);
  if (!id.ok() && id.status().code() == absl::StatusCode::kNotFound) return grpc::Status::OK;
  if (!id.ok()) return Done(ctx, id.status());
  auto account = deps_.accounts.Get(*id);
  if (!account.ok() && account.status().code() == absl::StatusCode::kNotFound)
    return grpc::Status::OK;
  if (!account.ok()) return Done(ctx, account.status());
  ToProto(*account, response->add_accounts());
  return grpc::Status::OK;
}

grpc::Status AccountsService::DoSetRoles(grpc::ServerContextBase* ctx,
                                         const v1::SetRolesRequest* req, v1::Account* response) {
  auto caller = Authorize(ctx, "SetRoles");
  if (!caller.ok()) return Done(ctx, caller.status());
  if (!infra::IsUlid(req->account_id()))
    return Done(ctx, InvalidField("account_id", "not an account id"));
  std::set<std::string> roles = {"citizen"};
  for (const std::string& r : req->roles()) {
    if (r != "citizen" && r != "operator" && r != "admin") {
      return Done(ctx, InvalidField("roles", "each must be citizen, operator or admin"));
    }
    roles.insert(r);
  }
  if (req->departments_size() > 32) return Done(ctx, InvalidField("departments", "at most 32"));
  std::set<std::string> departments;
  for (const std::string& d : req->departments()) {
    if (!IsValidDepartment(d)) {
      return Done(ctx,
                  InvalidField("departments", "each must be 1..64 characters of a-z, 0-9, _ or -"));
    }
    departments.insert(d);
  }
  if (roles.count("operator") > 0 && roles.count("admin") == 0 && departments.empty()) {
    return Done(ctx, InvalidField("departments", "an operator needs at least one department"));
  }
  if (req->account_id() == caller->account_id && roles.count("admin") == 0) {
    return Done(ctx, absl::FailedPreconditionError("admins cannot take their own admin role"));
  }
  const std::vector<std::string> role_list(roles.begin(), roles.end());
  const std::vector<std::string> department_list(departments.begin(), departments.end());
  Events events(1, NewEvent(ctx));
  auto* changed = events[0].mutable_roles_changed();
  changed->set_account_id(req->account_id());
  for (const auto& r : role_list) changed->add_roles(r);
  for (const auto& d : department_list) changed->add_departments(d);
  if (auto s = deps_.accounts.Update(
          req->account_id(),
          {{"roles", JoinList(role_list)},
           {"departments", JoinList(department_list)},
           {"updated_ms", std::to_string(infra::UnixMillis(deps_.clock.Now()))}},
          events);
      !s.ok()) {
    return Done(ctx, s);
  }
  Audit(req->account_id(), "roles_changed", *caller,
        StrCat("roles=", JoinList(role_list), " departments=", JoinList(department_list),
               " by=", caller->account_id));
  auto account = deps_.accounts.Get(req->account_id());
  if (!account.ok()) return Done(ctx, account.status());
  ToProto(*account, response);
  return grpc::Status::OK;
}

grpc::Status AccountsService::DoCreateApiKey(grpc::ServerContextBase* ctx,
                                             const v1::CreateApiKeyRequest* req,
                                             v1::CreatedApiKey* response) {
  auto caller = Authorize(ctx, "CreateApiKey");
  if (!caller.ok()) return Done(ctx, caller.status());
  if (auto problem = infra::CheckText(req->name(), 1, 100, false)) {
    return Done(ctx, InvalidField("name", *problem));
  }
  const auto now = deps_.clock.Now();
  const StoredApiKey key{infra::NewUlid(now), req->name(), infra::UnixMillis(now)};
  const std::string secret = StrCat("ck_", infra::RandomToken(32));
  if (auto s = deps_.api_keys.Create(key, TokenHash(secret)); !s.ok()) return Done(ctx, s);
  response->set_api_key_id(key.id);
  response->set_name(key.name);
  response->set_api_key(secret);
  *response->mutable_created_at() = Millis(key.created_ms);
  return grpc::Status::OK;
}

grpc::Status AccountsService::DoListApiKeys(grpc::ServerContextBase* ctx,
                                            const v1::ListApiKeysRequest*,
                                            v1::ListApiKeysResponse* response) {
  auto caller = Authorize(ctx, "ListApiKeys");
  if (!caller.ok()) return Done(ctx, caller.status());
  auto keys = deps_.api_keys.List();
  if (!keys.ok()) return Done(ctx, keys.status());
  for (const StoredApiKey& k : *keys) {
    auto* out = response->add_api_keys();
    out->set_api_key_id(k.id);
    out->set_name(k.name);
    *out->mutable_created_at() = Millis(k.created_ms);
  }
  return grpc::Status::OK;
}

grpc::Status AccountsService::DoDeleteApiKey(grpc::ServerContextBase* ctx,
                                             const v1::DeleteApiKeyRequest* req,
                                             v1::DeleteApiKeyResponse*) {
  auto caller = Authorize(ctx, "DeleteApiKey");
  if (!caller.ok()) return Done(ctx, caller.status());
  if (!infra::IsUlid(req->api_key_id()))
    return Done(ctx, InvalidField("api_key_id", "not an api key id"));
  return Done(ctx, deps_.api_keys.Delete(req->api_key_id()));
}

grpc::Status AccountsService::DoGetContact(grpc::ServerContextBase* ctx,
                                           const v1::GetContactRequest* req,
                                           v1::Contact* response) {
  auto caller = Authorize(ctx, "GetContact");
  if (!caller.ok()) return Done(ctx, caller.status());
  if (!infra::IsUlid(req->account_id()))
    return Done(ctx, InvalidField("account_id", "not an account id"));
  auto account = deps_.accounts.Get(req->account_id());
  if (!account.ok()) return Done(ctx, account.status());
  response->set_account_id(account->id);
  response->set_email(account->email);
  response->set_email_verified(account->verified);
  response->set_display_name(account->display_name);
  response->set_language(account->language);
  for (const auto& r : account->roles) response->add_roles(r);
  for (const auto& d : account->departments) response->add_departments(d);
  return grpc::Status::OK;
}

grpc::Status AccountsService::DoCheckApiKey(grpc::ServerContextBase* ctx,
                                            const v1::CheckApiKeyRequest* req,
                                            v1::CheckApiKeyResponse* response) {
  auto caller = Authorize(ctx, "CheckApiKey");
  if (!caller.ok()) return Done(ctx, caller.status());
  if (req->api_key().empty() || req->api_key().size() > 128) {
    return Done(ctx, absl::PermissionDeniedError("api_key: missing or unknown"));
  }
  auto key = deps_.api_keys.FindByHash(TokenHash(req->api_key()));
  if (!key.ok()) {
    return Done(ctx, key.status().code() == absl::StatusCode::kNotFound
                         ? absl::PermissionDeniedError("api_key: missing or unknown")
                         : key.status());
  }
  response->set_api_key_id(key->id);
  response->set_name(key->name);
  return grpc::Status::OK;
}

}  // namespace cityhub::accounts
