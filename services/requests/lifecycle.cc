#include "services/requests/lifecycle.h"

namespace cityhub::requests {

bool IsOpen(Status s) {
  return s == v1::SUBMITTED || s == v1::ACKNOWLEDGED || s == v1::IN_PROGRESS;
}

bool CanTransition(Status from, Status to) {
  switch (from) {
    case v1::SUBMITTED:
      return to == v1::ACKNOWLEDGED || to == v1::REJECTED || to == v1::DUPLICATE;
    case v1::ACKNOWLEDGED:
      return to == v1::IN_PROGRESS || to == v1::RESOLVED || to == v1::REJECTED ||
             to == v1::DUPLICATE;
    case v1::IN_PROGRESS:
      return to == v1::RESOLVED || to == v1::REJECTED || to == v1::DUPLICATE;
    case v1::RESOLVED:
      return to == v1::CLOSED || to == v1::IN_PROGRESS;
    case v1::REJECTED:
    case v1::DUPLICATE:
      return to == v1::CLOSED;
    default:
      return false;
  }
}

}  // namespace cityhub::requests
