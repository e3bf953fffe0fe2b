#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "cityhub/requests/v1/requests.pb.h"

namespace grpc {
class Channel;
}

// What a mail to an anonymous reporter needs (#14, part C), asked from the requests service
// (GetReporterMail, an internal method) when an event says there is such a reporter. Events
// never carry the address or the link tokens; nothing of it is cached here.
namespace cityhub::notifications {

class ReporterMails final {
 public:
  ReporterMails(std::shared_ptr<grpc::Channel> requests, std::string internal_token);
  ~ReporterMails();

  // NOT_FOUND when nobody is to be written to for `purpose` (not confirmed, unsubscribed,
  // erased); UNAVAILABLE when the requests service is.
  absl::StatusOr<cityhub::requests::v1::ReporterMail> Get(
      const std::string& request_id, cityhub::requests::v1::ReporterMailPurpose purpose);

 private:
  struct Stub;
  std::unique_ptr<Stub> stub_;
  std::string internal_token_;
};

}  // namespace cityhub::notifications
