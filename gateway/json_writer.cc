#include "gateway/json_writer.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <memory>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/duration.pb.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/time_util.h>

#include "absl/container/inlined_vector.h"
#include "gateway/json_writer_parts.h"
#include "infra/text.h"

namespace cityhub::gateway {

using google::protobuf::Descriptor;
using google::protobuf::EnumDescriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;
using json_internal::AppendBase64;
using json_internal::AppendDouble;
using json_internal::AppendFloat;

namespace {

// Types whose JSON form is not an object of their fields.
enum class Special : uint8_t {
  kNone,
  kTimestamp,
  kDuration,
  kStruct,
  kValue,
  kListValue,
  kFieldMask,
  kEmpty
};

enum class Kind : uint8_t {
  kInt32,
  kUInt32,
  kInt64,
  kUInt64,
  kDouble,
  kFloat,
  kBool,
  kEnum,
  kString,
  kBytes,
  kMessage,
  kMap
};

// An enum type's value names, quoted, sorted by number; the first name defined for a number
// wins (as EnumDescriptor::FindValueByNumber).
using EnumNames = std::vector<std::pair<int, std::string>>;

struct Plan;

// One field, resolved once: what the writer would otherwise look up per call.
struct FieldPlan {
  const FieldDescriptor* field = nullptr;
  std::string key;  // `,"name":` pre-escaped; the comma is skipped for the first field written
  Kind kind = Kind::kInt32;
  bool repeated = false;
  bool presence = false;          // printed only when set (messages, oneofs, proto3 optional)
  const Plan* message = nullptr;  // kMessage: its type's plan; kMap: the entry type's plan
  const EnumNames* enum_names = nullptr;
};

// One message type, built once per Descriptor and per thread.
struct Plan {
  Special special = Special::kNone;
  std::vector<FieldPlan> fields;             // kNone: in declaration order; map entries: key, value
  const FieldDescriptor* seconds = nullptr;  // kTimestamp, kDuration
  const FieldDescriptor* nanos = nullptr;
};

Special SpecialOf(const Descriptor* d) {
  static constexpr std::pair<std::string_view, Special> kSpecial[] = {
      {"google.protobuf.Timestamp", Special::kTimestamp},
      {"google.protobuf.Duration", Special::kDuration},
      {"google.protobuf.Struct", Special::kStruct},
      {"google.protobuf.Value", Special::kValue},
      {"google.protobuf.ListValue", Special::kListValue},
      {"google.protobuf.FieldMask", Special::kFieldMask},
      {"google.protobuf.Empty", Special::kEmpty}};
  for (const auto& [name, special] : kSpecial) {
    if (d->full_name() == name) return special;
  }
  return Special::kNone;
}

Kind KindOf(const FieldDescriptor* f) {
  if (f->is_map()) return Kind::kMap;
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      return Kind::kInt32;
    case FieldDescriptor::CPPTYPE_UINT32:
      return Kind::kUInt32;
    case FieldDescriptor::CPPTYPE_INT64:
      return Kind::kInt64;
    case FieldDescriptor::CPPTYPE_UINT64:
      return Kind::kUInt64;
    case FieldDescriptor::CPPTYPE_DOUBLE:
      return Kind::kDouble;
    case FieldDescriptor::CPPTYPE_FLOAT:
      return Kind::kFloat;
    case FieldDescriptor::CPPTYPE_BOOL:
      return Kind::kBool;
    case FieldDescriptor::CPPTYPE_ENUM:
      return Kind::kEnum;
    case FieldDescriptor::CPPTYPE_STRING:
      return f->type() == FieldDescriptor::TYPE_BYTES ? Kind::kBytes : Kind::kString;
    case FieldDescriptor::CPPTYPE_MESSAGE:
      return Kind::kMessage;
  }
  return Kind::kMessage;
}

// The plans this thread has built. Descriptors are immutable and outlive every message, so a
// plan never goes stale; one cache per thread needs no lock on the gateway's I/O threads.
class Plans {
 public:
  const Plan& For(const Descriptor* d) {
    auto [it, inserted] = plans_.try_emplace(d);
    if (!inserted) return *it->second;
    it->second = std::make_unique<Plan>();
    // Filled after it is in the map, so that a type containing itself finds its own plan.
    Plan& plan = *it->second;
    plan.special = SpecialOf(d);
    if (plan.special == Special::kTimestamp || plan.special == Special::kDuration) {
      plan.seconds = d->FindFieldByName("seconds");
      plan.nanos = d->FindFieldByName("nanos");
    }
    if (plan.special != Special::kNone) return plan;
    plan.fields.reserve(d->field_count());
    for (int i = 0; i < d->field_count(); ++i) plan.fields.push_back(FieldFor(d->field(i)));
    return plan;
  }

 private:
  FieldPlan FieldFor(const FieldDescriptor* f) {
    FieldPlan p;
    p.field = f;
    p.key = ",";
    infra::AppendJsonString(p.key, f->name());
    p.key += ':';
    p.kind = KindOf(f);
    p.repeated = f->is_repeated();
    p.presence = !f->is_repeated() && f->has_presence();
    if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) p.message = &For(f->message_type());
    if (f->cpp_type() == FieldDescriptor::CPPTYPE_ENUM) p.enum_names = &NamesOf(f->enum_type());
    return p;
  }

  const EnumNames& NamesOf(const EnumDescriptor* e) {
    auto [it, inserted] = enums_.try_emplace(e);
    if (!inserted) return *it->second;
    it->second = std::make_unique<EnumNames>();
    EnumNames& names = *it->second;
    for (int i = 0; i < e->value_count(); ++i) {
      const int number = e->value(i)->number();
      if (e->FindValueByNumber(number) != e->value(i)) continue;  // an alias
      std::string quoted;
      infra::AppendJsonString(quoted, e->value(i)->name());
      names.emplace_back(number, std::move(quoted));
    }
    std::sort(names.begin(), names.end());
    return names;
  }

  std::unordered_map<const Descriptor*, std::unique_ptr<Plan>> plans_;
  std::unordered_map<const EnumDescriptor*, std::unique_ptr<EnumNames>> enums_;
};

const Plan& PlanFor(const Descriptor* d) {
  thread_local Plans plans;
  return plans.For(d);
}

template <typename T>
void AppendInteger(T v, bool quoted, std::string* out) {
  char buf[24];
  char* p = buf;
  if (quoted) *p++ = '"';
  p = std::to_chars(p, buf + sizeof(buf) - 1, v).ptr;
  if (quoted) *p++ = '"';
  out->append(buf, p);
}

void AppendEnum(const EnumNames& names, int number, std::string* out) {
  auto it = std::lower_bound(names.begin(), names.end(), number,
                             [](const auto& entry, int n) { return entry.first < n; });
  if (it != names.end() && it->first == number) {
    out->append(it->second);
  } else {
    AppendInteger(number, false, out);  // a value this build does not know: its number
  }
}

// `digits` digits of `v`, zero-padded, at p.
char* PutDigits(char* p, int digits, int64_t v) {
  for (int i = digits - 1; i >= 0; --i) {
    p[i] = static_cast<char>('0' + v % 10);
    v /= 10;
  }
  return p + digits;
}

// ".123", ".123456" or ".123456789" as protobuf's TimeUtil writes them; nothing for 0.
char* PutFraction(char* p, int32_t nanos) {
  if (nanos == 0) return p;
  *p++ = '.';
  if (nanos % 1000000 == 0) return PutDigits(p, 3, nanos / 1000000);
  if (nanos % 1000 == 0) return PutDigits(p, 6, nanos / 1000);
  return PutDigits(p, 9, nanos);
}

// RFC 3339 in UTC as TimeUtil::ToString(Timestamp), without building a Timestamp or a string:
// days since the epoch to the civil date (Howard Hinnant's days_from_civil, inverted).
void AppendTimestamp(int64_t seconds, int32_t nanos, std::string* out) {
  constexpr int64_t kMinSeconds = -62135596800;  // 0001-01-01T00:00:00Z
  constexpr int64_t kMaxSeconds = 253402300799;  // 9999-12-31T23:59:59Z
  if (nanos < 0 || nanos > 999999999 || seconds < kMinSeconds || seconds > kMaxSeconds) {
    out->append("\"InvalidTime\"");
    return;
  }
  int64_t days = seconds / 86400;
  int64_t second_of_day = seconds % 86400;
  if (second_of_day < 0) {
    second_of_day += 86400;
    --days;
  }
  const int64_t z = days + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t day_of_era = z - era * 146097;
  const int64_t year_of_era =
      (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
  const int64_t day_of_year =
      day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  const int64_t mp = (5 * day_of_year + 2) / 153;
  const int64_t day = day_of_year - (153 * mp + 2) / 5 + 1;
  const int64_t month = mp < 10 ? mp + 3 : mp - 9;
  const int64_t year = year_of_era + era * 400 + (month <= 2 ? 1 : 0);
  char buf[40];
  char* p = buf;
  *p++ = '"';
  p = PutDigits(p, 4, year);
  *p++ = '-';
  p = PutDigits(p, 2, month);
  *p++ = '-';
  p = PutDigits(p, 2, day);
  *p++ = 'T';
  p = PutDigits(p, 2, second_of_day / 3600);
  *p++ = ':';
  p = PutDigits(p, 2, second_of_day / 60 % 60);
  *p++ = ':';
  p = PutDigits(p, 2, second_of_day % 60);
  p = PutFraction(p, nanos);
  *p++ = 'Z';
  *p++ = '"';
  out->append(buf, p);
}

// As TimeUtil::ToString(Duration): "-1.500s", "3s", "0.000000005s".
void AppendDuration(int64_t seconds, int32_t nanos, std::string* out) {
  const bool valid = nanos > -1000000000 && nanos < 1000000000 && seconds != INT64_MIN &&
                     !(seconds < 0 && nanos > 0) && !(seconds > 0 && nanos < 0);
  if (!valid) {
    // Signs that disagree and other nonsense: whatever TimeUtil makes of it, as before.
    google::protobuf::Duration d;
    d.set_seconds(seconds);
    d.set_nanos(nanos);
    infra::AppendJsonString(*out, google::protobuf::util::TimeUtil::ToString(d));
    return;
  }
  char buf[40];
  char* p = buf;
  *p++ = '"';
  if (seconds < 0 || nanos < 0) *p++ = '-';
  p = std::to_chars(p, buf + 24, seconds < 0 ? -seconds : seconds).ptr;
  p = PutFraction(p, nanos < 0 ? -nanos : nanos);
  *p++ = 's';
  *p++ = '"';
  out->append(buf, p);
}

void WriteFastValue(const google::protobuf::Value& v, std::string* out);

// Struct and Value of the generated classes: their maps and oneofs read directly (reflection
// on a map field would first copy it into a repeated field of entry messages).
void WriteFastStruct(const google::protobuf::Struct& s, std::string* out) {
  using Entry = google::protobuf::Map<std::string, google::protobuf::Value>::value_type;
  absl::InlinedVector<const Entry*, 16> entries;
  for (const Entry& e : s.fields()) entries.push_back(&e);
  std::sort(entries.begin(), entries.end(),
            [](const Entry* a, const Entry* b) { return a->first < b->first; });
  out->push_back('{');
  for (size_t i = 0; i < entries.size(); ++i) {
    if (i > 0) out->push_back(',');
    infra::AppendJsonString(*out, entries[i]->first);
    out->push_back(':');
    WriteFastValue(entries[i]->second, out);
  }
  out->push_back('}');
}

void WriteFastList(const google::protobuf::ListValue& l, std::string* out) {
  out->push_back('[');
  for (int i = 0; i < l.values_size(); ++i) {
    if (i > 0) out->push_back(',');
    WriteFastValue(l.values(i), out);
  }
  out->push_back(']');
}

void WriteFastValue(const google::protobuf::Value& v, std::string* out) {
  switch (v.kind_case()) {
    case google::protobuf::Value::kNumberValue:
      return AppendDouble(v.number_value(), out);
    case google::protobuf::Value::kStringValue:
      return infra::AppendJsonString(*out, v.string_value());
    case google::protobuf::Value::kBoolValue:
      out->append(v.bool_value() ? "true" : "false");
      return;
    case google::protobuf::Value::kStructValue:
      return WriteFastStruct(v.struct_value(), out);
    case google::protobuf::Value::kListValue:
      return WriteFastList(v.list_value(), out);
    default:
      out->append("null");
  }
}

void WriteSpecial(const Message& m, const Plan& plan, std::string* out) {
  namespace pb = google::protobuf;
  switch (plan.special) {
    case Special::kTimestamp:
    case Special::kDuration: {
      const Reflection* r = m.GetReflection();
      const int64_t seconds = r->GetInt64(m, plan.seconds);
      const int32_t nanos = r->GetInt32(m, plan.nanos);
      if (plan.special == Special::kTimestamp) return AppendTimestamp(seconds, nanos, out);
      return AppendDuration(seconds, nanos, out);
    }
    case Special::kStruct:
      if (const auto* s = pb::DynamicCastToGenerated<pb::Struct>(&m))
        return WriteFastStruct(*s, out);
      return json_internal::WriteStruct(m, out);
    case Special::kValue:
      if (const auto* v = pb::DynamicCastToGenerated<pb::Value>(&m)) return WriteFastValue(*v, out);
      return json_internal::WriteStructValue(m, out);
    case Special::kListValue:
      if (const auto* l = pb::DynamicCastToGenerated<pb::ListValue>(&m))
        return WriteFastList(*l, out);
      return json_internal::WriteListValue(m, out);
    case Special::kFieldMask:
      return json_internal::WriteFieldMask(m, out);
    case Special::kEmpty:
    case Special::kNone:
      out->append("{}");
      return;
  }
}

void WriteMessage(const Message& m, const Plan& plan, std::string* out);

// One value of field `f`: element `index` of a repeated field, or the singular value (-1).
void WriteOne(const Message& m, const Reflection* r, const FieldPlan& f, int index,
              std::string* out) {
  const FieldDescriptor* d = f.field;
  const bool rep = index >= 0;
  switch (f.kind) {
    case Kind::kInt32:
      return AppendInteger(rep ? r->GetRepeatedInt32(m, d, index) : r->GetInt32(m, d), false, out);
    case Kind::kUInt32:
      return AppendInteger(rep ? r->GetRepeatedUInt32(m, d, index) : r->GetUInt32(m, d), false,
                           out);
    case Kind::kInt64:  // 64-bit integers are strings in JSON
      return AppendInteger(rep ? r->GetRepeatedInt64(m, d, index) : r->GetInt64(m, d), true, out);
    case Kind::kUInt64:
      return AppendInteger(rep ? r->GetRepeatedUInt64(m, d, index) : r->GetUInt64(m, d), true, out);
    case Kind::kDouble:
      return AppendDouble(rep ? r->GetRepeatedDouble(m, d, index) : r->GetDouble(m, d), out);
    case Kind::kFloat:
      return AppendFloat(rep ? r->GetRepeatedFloat(m, d, index) : r->GetFloat(m, d), out);
    case Kind::kBool:
      out->append((rep ? r->GetRepeatedBool(m, d, index) : r->GetBool(m, d)) ? "true" : "false");
      return;
    case Kind::kEnum:
      return AppendEnum(*f.enum_names,
                        rep ? r->GetRepeatedEnumValue(m, d, index) : r->GetEnumValue(m, d), out);
    case Kind::kString:
    case Kind::kBytes: {
      std::string scratch;  // untouched (no allocation) for the generated messages' strings
      const std::string& s = rep ? r->GetRepeatedStringReference(m, d, index, &scratch)
                                 : r->GetStringReference(m, d, &scratch);
      if (f.kind == Kind::kBytes) return AppendBase64(s, out);
      return infra::AppendJsonString(*out, s);
    }
    case Kind::kMessage:
    case Kind::kMap:
      return WriteMessage(rep ? r->GetRepeatedMessage(m, d, index) : r->GetMessage(m, d),
                          *f.message, out);
  }
}

// A map field: entries in the order of their keys' JSON text, as the writer always did.
void WriteMap(const Message& m, const Reflection* r, const FieldPlan& f, std::string* out) {
  const FieldPlan& key = f.message->fields[0];
  const FieldPlan& value = f.message->fields[1];
  absl::InlinedVector<std::pair<std::string, const Message*>, 16> entries;
  const int n = r->FieldSize(m, f.field);
  for (int i = 0; i < n; ++i) {
    const Message& e = r->GetRepeatedMessage(m, f.field, i);
    std::string k;
    if (key.kind == Kind::kString) {
      k = e.GetReflection()->GetString(e, key.field);
    } else {
      WriteOne(e, e.GetReflection(), key, -1, &k);
      if (k.front() == '"') k = k.substr(1, k.size() - 2);  // 64-bit keys came quoted
    }
    entries.emplace_back(std::move(k), &e);
  }
  std::sort(entries.begin(), entries.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  out->push_back('{');
  for (size_t i = 0; i < entries.size(); ++i) {
    if (i > 0) out->push_back(',');
    infra::AppendJsonString(*out, entries[i].first);
    out->push_back(':');
    WriteOne(*entries[i].second, entries[i].second->GetReflection(), value, -1, out);
  }
  out->push_back('}');
}

void WriteMessage(const Message& m, const Plan& plan, std::string* out) {
  if (plan.special != Special::kNone) return WriteSpecial(m, plan, out);
  const Reflection* r = m.GetReflection();
  out->push_back('{');
  size_t skip = 1;  // the first field written has no comma before it
  for (const FieldPlan& f : plan.fields) {
    if (f.presence && !r->HasField(m, f.field)) continue;
    out->append(f.key.data() + skip, f.key.size() - skip);
    skip = 0;
    if (f.kind == Kind::kMap) {
      WriteMap(m, r, f, out);
    } else if (f.repeated) {  // printed always, even empty
      out->push_back('[');
      const int n = r->FieldSize(m, f.field);
      for (int i = 0; i < n; ++i) {
        if (i > 0) out->push_back(',');
        WriteOne(m, r, f, i, out);
      }
      out->push_back(']');
    } else {
      WriteOne(m, r, f, -1, out);
    }
  }
  out->push_back('}');
}

}  // namespace

void AppendJson(const Message& message, std::string* out) {
  WriteMessage(message, PlanFor(message.GetDescriptor()), out);
}

std::string WriteJson(const Message& message) {
  std::string out;
  out.reserve(512);
  AppendJson(message, &out);
  return out;
}

}  // namespace cityhub::gateway
