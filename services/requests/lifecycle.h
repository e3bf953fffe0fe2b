#pragma once

#include "cityhub/requests/v1/requests.pb.h"

// The life of a request:
//
//   SUBMITTED → ACKNOWLEDGED → IN_PROGRESS → RESOLVED → CLOSED
//        └──────────┴─────────────┴──→ REJECTED | DUPLICATE → CLOSED
//   ACKNOWLEDGED → RESOLVED (fixed without a separate work phase)
//   RESOLVED → IN_PROGRESS (reopened: the problem came back or was not fixed)
namespace cityhub::requests {

using cityhub::requests::v1::Status;

bool CanTransition(Status from, Status to);

// Open311 `open`: SUBMITTED, ACKNOWLEDGED, IN_PROGRESS; everything else is `closed`.
bool IsOpen(Status status);

}  // namespace cityhub::requests
