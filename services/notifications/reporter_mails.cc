#include "services/notifications/reporter_mails.h"

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>

#include "cityhub/requests/v1/requests.grpc.pb.h"
#include "infra/auth/authorizer.h"
#include "infra/status.h"

namespace cityhub::notifications {

namespace rv1 = cityhub::requests::v1;

struct ReporterMails::Stub {
  std::unique_ptr<rv1::RequestsService::Stub> stub;
};

ReporterMails::ReporterMails(std::shared_ptr<grpc::Channel> requests, std::string internal_token)
    : stub_(std::make_unique<Stub>(Stub{rv1::RequestsService::NewStub(std::move(requests))})),
      internal_token_(std::move(internal_token)) {}

ReporterMails::~ReporterMails() = default;

absl::StatusOr<rv1::ReporterMail> ReporterMails::Get(const std::string& request_id,
                                                     rv1::ReporterMailPurpose purpose) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(3));
  ctx.AddMetadata(infra::auth::kInternalTokenKey, internal_token_);
  rv1::GetReporterMailRequest request;
  request.set_request_id(request_id);
  request.set_purpose(purpose);
  rv1::ReporterMail mail;
  const grpc::Status status = stub_->stub->GetReporterMail(&ctx, request, &mail);
  if (!status.ok()) return infra::FromGrpcStatus(status);
  return mail;
}

}  // namespace cityhub::notifications
