#include "infra/events/events.h"

#include "infra/ids.h"

namespace cityhub::infra::events {

std::string TypeName(const cityhub::events::v1::Event& event) {
  const auto* descriptor = event.GetDescriptor();
  const auto* oneof = descriptor->FindOneofByName("payload");
  const auto* field = event.GetReflection()->GetOneofFieldDescriptor(event, oneof);
  return field == nullptr ? std::string() : field->message_type()->name();
}

std::string OrderKey(const cityhub::events::v1::Event& event) {
  const auto* oneof = event.GetDescriptor()->FindOneofByName("payload");
  const auto* field = event.GetReflection()->GetOneofFieldDescriptor(event, oneof);
  if (field == nullptr) return {};
  const auto& payload = event.GetReflection()->GetMessage(event, field);
  for (const char* name : {"request_id", "account_id"}) {
    const auto* key = payload.GetDescriptor()->FindFieldByName(name);
    if (key != nullptr && key->type() == google::protobuf::FieldDescriptor::TYPE_STRING) {
      return payload.GetReflection()->GetString(payload, key);
    }
  }
  return {};
}

void Stamp(cityhub::events::v1::Event& event, const Clock& clock, std::string_view trace_id) {
  const auto now = clock.Now();
  event.set_event_id(NewUlid(now));
  const int64_t ms = UnixMillis(now);
  event.mutable_occurred_at()->set_seconds(ms / 1000);
  event.mutable_occurred_at()->set_nanos(static_cast<int32_t>(ms % 1000) * 1'000'000);
  event.set_trace_id(std::string(trace_id));
}

redis::Args XAddArgs(std::string_view stream, const cityhub::events::v1::Event& event) {
  return {"XADD",      std::string(stream),      "*", kTypeField, TypeName(event),
          kEventField, event.SerializeAsString()};
}

void Append(redis::Transaction& tx, std::string_view stream,
            const cityhub::events::v1::Event& event) {
  tx.Append(XAddArgs(stream, event));
}

void AppendScriptArgs(std::string_view stream,
                      const std::vector<cityhub::events::v1::Event>& events, redis::Args* argv) {
  std::vector<redis::Args> appends;
  appends.reserve(events.size());
  for (const auto& e : events) appends.push_back(XAddArgs(stream, e));
  redis::Transaction::EncodeEvents(appends, argv);
}

}  // namespace cityhub::infra::events
