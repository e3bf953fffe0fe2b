#include "services/requests/staff_directory.h"

#include <algorithm>
#include <chrono>

#include <grpcpp/client_context.h>

#include "cityhub/accounts/v1/accounts.grpc.pb.h"
#include "infra/auth/authorizer.h"
#include "infra/status.h"

namespace cityhub::requests {

bool StaffMember::OperatesFor(const std::string& department) const {
  return std::find(roles.begin(), roles.end(), "operator") != roles.end() &&
         std::find(departments.begin(), departments.end(), department) != departments.end();
}

struct StaffDirectory::Stub {
  std::unique_ptr<cityhub::accounts::v1::AccountsService::Stub> stub;
};

StaffDirectory::StaffDirectory(std::shared_ptr<grpc::Channel> accounts, std::string internal_token)
    : internal_token_(std::move(internal_token)) {
  if (accounts) {
    stub_ = std::make_unique<Stub>(
        Stub{cityhub::accounts::v1::AccountsService::NewStub(std::move(accounts))});
  }
}

StaffDirectory::~StaffDirectory() = default;

absl::StatusOr<StaffMember> StaffDirectory::Get(const std::string& account_id) const {
  if (!stub_) return absl::UnavailableError("the accounts service is not configured");
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(3));
  ctx.AddMetadata(infra::auth::kInternalTokenKey, internal_token_);
  cityhub::accounts::v1::GetContactRequest request;
  request.set_account_id(account_id);
  cityhub::accounts::v1::Contact contact;
  const grpc::Status status = stub_->stub->GetContact(&ctx, request, &contact);
  if (!status.ok()) return infra::FromGrpcStatus(status);
  return StaffMember{contact.account_id(),
                     contact.display_name(),
                     {contact.roles().begin(), contact.roles().end()},
                     {contact.departments().begin(), contact.departments().end()}};
}

}  // namespace cityhub::requests
