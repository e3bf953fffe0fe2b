#include "infra/redis/async_script.h"

#include <memory>
#include <utility>

namespace cityhub::infra::redis {

void EvalAsync(AsyncClient& redis, const Script& script, const Args& keys, const Args& args,
               std::function<void(absl::StatusOr<Reply>)> done) {
  auto command = std::make_shared<Args>(EvalShaCommand(script, keys, args));
  redis.Pipeline({*command}, [&redis, &script, command, done = std::move(done)](
                                 absl::StatusOr<std::vector<Reply>> replies) mutable {
    if (!replies.ok()) return done(replies.status());
    Reply& first = replies->front();
    if (!first.is_error() || !first.str().starts_with("NOSCRIPT")) {
      return done(ReplyOrError(std::move(first)));
    }
    // Redis lost the script: load it and run again, in one round trip.
    redis.Pipeline({{"SCRIPT", "LOAD", script.source()}, std::move(*command)},
                   [done = std::move(done)](absl::StatusOr<std::vector<Reply>> again) {
                     if (!again.ok()) return done(again.status());
                     done(ReplyOrError(std::move(again->back())));
                   });
  });
}

}  // namespace cityhub::infra::redis
