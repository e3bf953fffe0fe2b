#include "gateway/errors.h"

#include "infra/strings.h"
#include "infra/text.h"

namespace cityhub::gateway {

int HttpStatusFor(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return 200;
    case grpc::StatusCode::CANCELLED:
      return 499;
    case grpc::StatusCode::INVALID_ARGUMENT:
      return 400;
    case grpc::StatusCode::FAILED_PRECONDITION:
      return 400;
    case grpc::StatusCode::OUT_OF_RANGE:
      return 400;
    case grpc::StatusCode::UNAUTHENTICATED:
      return 401;
    case grpc::StatusCode::PERMISSION_DENIED:
      return 403;
    case grpc::StatusCode::NOT_FOUND:
      return 404;
    case grpc::StatusCode::ALREADY_EXISTS:
      return 409;
    case grpc::StatusCode::ABORTED:
      return 409;
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return 429;
    case grpc::StatusCode::UNIMPLEMENTED:
      return 501;
    case grpc::StatusCode::UNAVAILABLE:
      return 503;
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return 504;
    default:
      return 500;  // INTERNAL, UNKNOWN, DATA_LOSS
  }
}

HttpResponse ErrorResponse(int http_status, grpc::StatusCode code, std::string_view message) {
  HttpResponse r;
  r.status = http_status;
  r.headers = {{"Content-Type", "application/json"}};
  r.body = infra::StrCat("{\"code\":", static_cast<int>(code), ",\"message\":");
  infra::AppendJsonString(r.body, message);
  r.body += ",\"details\":[]}";
  return r;
}

HttpResponse ErrorResponse(const grpc::Status& status) {
  const int http = HttpStatusFor(status.error_code());
  // Internal detail never reaches the caller (the services already replace it; this is the
  // gateway's own guard). Unavailable and timed-out calls carry transport detail (peer addresses,
  // "redis: cannot connect to redis:6379"): the caller learns only what to do.
  switch (http) {
    case 500:
      return ErrorResponse(http, status.error_code(), "internal error");
    case 503:
      return ErrorResponse(http, status.error_code(),
                           "the service is unavailable; try again shortly");
    case 504:
      return ErrorResponse(http, status.error_code(),
                           "the service did not answer in time; try again");
    default:
      return ErrorResponse(http, status.error_code(), status.error_message());
  }
}

}  // namespace cityhub::gateway
