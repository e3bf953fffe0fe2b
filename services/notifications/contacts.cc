#include "services/notifications/contacts.h"

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>

#include "cityhub/accounts/v1/accounts.grpc.pb.h"
#include "infra/auth/authorizer.h"
#include "infra/status.h"

namespace cityhub::notifications {

struct Contacts::Stub {
  std::unique_ptr<cityhub::accounts::v1::AccountsService::Stub> stub;
};

Contacts::Contacts(std::shared_ptr<grpc::Channel> accounts, std::string internal_token,
                   const infra::Clock& clock, std::chrono::milliseconds ttl)
    : stub_(std::make_unique<Stub>(
          Stub{cityhub::accounts::v1::AccountsService::NewStub(std::move(accounts))})),
      internal_token_(std::move(internal_token)),
      clock_(clock),
      ttl_(ttl) {}

Contacts::~Contacts() = default;

absl::StatusOr<ContactInfo> Contacts::Get(const std::string& account_id) {
  const auto now = clock_.Now();
  {
    std::lock_guard lock(mu_);
    auto it = cache_.find(account_id);
    if (it != cache_.end() && now < it->second.expires) return it->second.contact;
  }
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(3));
  ctx.AddMetadata(infra::auth::kInternalTokenKey, internal_token_);
  cityhub::accounts::v1::GetContactRequest request;
  request.set_account_id(account_id);
  cityhub::accounts::v1::Contact contact;
  const grpc::Status status = stub_->stub->GetContact(&ctx, request, &contact);
  absl::StatusOr<ContactInfo> result =
      status.ok() ? absl::StatusOr<ContactInfo>(ContactInfo{
                        contact.email(), contact.email_verified(), contact.display_name(),
                        contact.language().empty() ? "de" : contact.language()})
                  : absl::StatusOr<ContactInfo>(infra::FromGrpcStatus(status));
  // Only answers are cached, not outages.
  if (status.ok() || status.error_code() == grpc::StatusCode::NOT_FOUND) {
    std::lock_guard lock(mu_);
    if (cache_.size() > 100'000) cache_.clear();
    // An unverified address may be verified any moment: that answer is kept only for a burst
    // (a ContactChanged event clears the entry too, but only on the replica that receives it).
    const bool unverified = result.ok() && !result->email_verified;
    cache_[account_id] = Entry{
        result,
        now + (unverified ? std::min<std::chrono::milliseconds>(ttl_, kUnverifiedTtl) : ttl_)};
  }
  return result;
}

void Contacts::Forget(const std::string& account_id) {
  std::lock_guard lock(mu_);
  cache_.erase(account_id);
}

}  // namespace cityhub::notifications
