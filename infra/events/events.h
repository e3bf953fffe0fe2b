#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "cityhub/events/v1/events.pb.h"
#include "infra/clock.h"
#include "infra/redis/client.h"
#include "infra/redis/transaction.h"

// Domain events on Redis Streams. A producer stamps an event and XADDs it in the same
// atomic unit (redis::Transaction, or a store's own Lua script through Transaction's
// event fragment) as the data change it describes.
namespace cityhub::infra::events {

// Stream entry field names.
inline constexpr char kTypeField[] = "type";
inline constexpr char kEventField[] = "event";

// The payload's message name, e.g. "RequestCreated"; empty when no payload is set.
std::string TypeName(const cityhub::events::v1::Event& event);

// What an event is about: its request id, else its account id (empty for neither). Events with
// the same key must be handled in the order they were written; others may be handled side by
// side.
std::string OrderKey(const cityhub::events::v1::Event& event);

// Sets event_id (a ULID), occurred_at and trace_id.
void Stamp(cityhub::events::v1::Event& event, const Clock& clock, std::string_view trace_id);

// The arguments of XADD <stream> * type <T> event <bytes>.
redis::Args XAddArgs(std::string_view stream, const cityhub::events::v1::Event& event);

// Appends `event` to `stream` in the same atomic unit as the transaction's other writes.
void Append(redis::Transaction& tx, std::string_view stream,
            const cityhub::events::v1::Event& event);

// For a write that stays a script of its own: the events' XADDs to `stream`, encoded into
// `argv` for the script's `append_events` (redis::Transaction::kAppendEventsLua), so that they
// are written exactly as Transaction writes them.
void AppendScriptArgs(std::string_view stream,
                      const std::vector<cityhub::events::v1::Event>& events, redis::Args* argv);

}  // namespace cityhub::infra::events
