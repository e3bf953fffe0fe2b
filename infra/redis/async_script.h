#pragma once

#include <functional>

#include "absl/status/statusor.h"
#include "infra/redis/async_client.h"
#include "infra/redis/client.h"

namespace cityhub::infra::redis {

// Client::Eval over the AsyncClient: EVALSHA, and when Redis answers NOSCRIPT (after a restart
// or SCRIPT FLUSH) SCRIPT LOAD and EVALSHA again in one more round trip. `done` gets the
// script's reply, or a status for a transport problem or an error reply (ErrorReplyToStatus).
// It runs where the AsyncClient's callbacks run and must not block. `script` must outlive the
// call (scripts are static).
void EvalAsync(AsyncClient& redis, const Script& script, const Args& keys, const Args& args,
               std::function<void(absl::StatusOr<Reply>)> done);

}  // namespace cityhub::infra::redis
