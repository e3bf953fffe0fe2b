#include "services/notifications/live.h"

#include <sys/socket.h>
#include <unistd.h>

#include <charconv>

#include <hiredis/hiredis.h>

#include <google/protobuf/util/time_util.h>

#include "infra/log.h"
#include "services/notifications/keys.h"

namespace cityhub::notifications {

namespace nv1 = cityhub::notifications::v1;
using google::protobuf::util::TimeUtil;

void ToApi(InboxEntry&& entry, nv1::Notification* out) {
  StoredNotification& n = entry.notification;
  // The texts move into the answer: no allocation per field.
  out->set_notification_id(std::move(*n.mutable_id()));
  out->set_kind(static_cast<nv1::Kind>(n.kind()));
  out->set_title(std::move(*n.mutable_title()));
  out->set_body(std::move(*n.mutable_body()));
  out->set_request_id(std::move(*n.mutable_request_id()));
  out->set_read(entry.read);
  *out->mutable_created_at() = TimeUtil::MillisecondsToTimestamp(n.created_ms());
  for (auto& [channel, state] : entry.deliveries) {
    // "state|attempts|updated_ms|reason"
    auto* d = out->add_deliveries();
    d->set_channel(static_cast<nv1::Channel>(channel));
    int64_t parts[3] = {0, 0, 0};
    size_t at = 0;
    for (int i = 0; i < 3; ++i) {
      const size_t bar = state.find('|', at);
      const std::string_view piece = std::string_view(state).substr(
          at, bar == std::string::npos ? std::string::npos : bar - at);
      std::from_chars(piece.data(), piece.data() + piece.size(), parts[i]);
      at = bar == std::string::npos ? state.size() : bar + 1;
    }
    d->set_state(static_cast<nv1::DeliveryState>(parts[0]));
    d->set_attempts(static_cast<int32_t>(parts[1]));
    *d->mutable_updated_at() = TimeUtil::MillisecondsToTimestamp(parts[2]);
    // Usually empty: the reason is cut out in place, without a copy of the state.
    state.erase(0, std::min(at, state.size()));
    d->set_reason(std::move(state));
  }
}

void ToApi(const InboxEntry& entry, nv1::Notification* out) { ToApi(InboxEntry(entry), out); }

// ---------------------------------------------------------------------------------------------

LiveStream::LiveStream(LiveHub& hub, grpc::CallbackServerContext* ctx, Admit admit,
                       std::string after_id)
    : hub_(hub), ctx_(ctx), admit_(std::move(admit)), after_id_(std::move(after_id)) {}

bool LiveStream::Open() {
  // The call cannot end meanwhile: OnCancel leaves the Finish to us while opening_, so ctx_
  // stays valid for the admission.
  Admission admission = admit_();
  std::lock_guard lock(mu_);
  opening_ = false;
  if (cancelled_ || !admission.refusal.ok()) {
    finished_ = true;
    Finish(cancelled_ ? grpc::Status::CANCELLED : admission.refusal);
    return false;
  }
  admitted_ = true;
  hub_.Add(this, std::move(admission.account));
  return true;
}

void LiveStream::Fetch() {
  if (!admitted_ && !Open()) return;
  int64_t position = 0;
  {
    std::lock_guard lock(mu_);
    if (finished_) return;
    position = position_;
  }
  if (position < 0) {
    // The first look: where the client's last id (or "now") stands in the feed.
    auto resolved = hub_.feed().FeedPosition(account_, after_id_);
    if (!resolved.ok()) return;  // Redis trouble: the periodic look retries
    position = *resolved;
    std::lock_guard lock(mu_);
    position_ = position;
    hub_.positioned_.fetch_add(1);
  }
  {
    // The response headers tell the client that the stream has its place: whatever is written
    // after they arrive will be sent (the gateway starts its SSE answer only then).
    std::lock_guard lock(mu_);
    if (finished_) return;
    if (!metadata_sent_) {
      metadata_sent_ = true;
      ctx_->AddInitialMetadata(kStreamOpenKey, "open");
      StartSendInitialMetadata();
    }
  }
  constexpr int kBatch = 100;
  auto page = hub_.feed().FeedAfter(account_, position, kBatch);
  if (!page.ok()) return;
  std::lock_guard lock(mu_);
  if (finished_) return;
  for (const InboxEntry& e : page->entries) ToApi(e, &queue_.emplace_back());
  position_ = page->last;
  if (!writing_) WriteNext();
  if (page->full) hub_.Schedule(this);
}

void LiveStream::WriteNext() {
  if (queue_.empty() || finished_) {
    writing_ = false;
    return;
  }
  writing_ = true;
  StartWrite(&queue_.front());
}

void LiveStream::OnWriteDone(bool ok) {
  std::lock_guard lock(mu_);
  queue_.pop_front();
  if (!ok) {
    writing_ = false;
    if (!finished_) {
      finished_ = true;
      Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "stream write failed"));
    }
    return;
  }
  WriteNext();
}

void LiveStream::OnCancel() {
  std::lock_guard lock(mu_);
  if (opening_) {
    cancelled_ = true;  // Open finishes the call once the admission is done with ctx_
    return;
  }
  if (!finished_) {
    finished_ = true;
    Finish(grpc::Status::CANCELLED);
  }
}

void LiveStream::OnDone() {
  if (hub_.Remove(this)) delete this;  // else the worker reading for it deletes it
}

// ---------------------------------------------------------------------------------------------

LiveHub::LiveHub(FeedStore& feed, infra::redis::Options subscriber, const infra::Clock& clock,
                 int workers)
    : feed_(feed), subscriber_options_(std::move(subscriber)), clock_(clock), workers_(workers) {}

LiveHub::~LiveHub() { Stop(); }

void LiveHub::Start() {
  stop_.store(false);
  threads_.emplace_back([this] { Subscribe(); });
  for (int i = 0; i < workers_; ++i) threads_.emplace_back([this] { Work(); });
}

void LiveHub::Stop() {
  if (stop_.exchange(true)) return;
  const int fd = subscriber_fd_.load();
  if (fd >= 0) ::shutdown(fd, SHUT_RDWR);
  cv_.notify_all();
  for (auto& t : threads_) t.join();
  threads_.clear();
}

LiveStream* LiveHub::Open(grpc::CallbackServerContext* ctx, Admit admit,
                          const std::string& after_id) {
  auto* stream = new LiveStream(*this, ctx, std::move(admit), after_id);
  {
    std::lock_guard lock(mu_);
    opening_.insert(stream);
    QueueLocked(stream);
  }
  cv_.notify_one();
  return stream;
}

size_t LiveHub::streams() const {
  std::lock_guard lock(mu_);
  size_t n = 0;
  for (const auto& [a, s] : by_account_) n += s.size();
  return n;
}

void LiveHub::Add(LiveStream* s, std::string account) {
  std::lock_guard lock(mu_);
  opening_.erase(s);
  s->account_ = std::move(account);
  by_account_[s->account_].insert(s);
}

bool LiveHub::Remove(LiveStream* s) {
  std::lock_guard lock(mu_);
  opening_.erase(s);
  auto it = by_account_.find(s->account());
  if (it != by_account_.end()) {
    it->second.erase(s);
    if (it->second.empty()) by_account_.erase(it);
  }
  std::erase(pending_, s);
  queued_.erase(s);
  again_.erase(s);
  // A worker may be fetching for it right now: that worker deletes it when done.
  if (busy_.count(s)) {
    doomed_.insert(s);
    return false;
  }
  return true;
}

void LiveHub::Schedule(LiveStream* s) {
  {
    std::lock_guard lock(mu_);
    // Only a registered (or opening) stream: one that Remove took out may already be deleted.
    auto it = by_account_.find(s->account_);
    const bool registered = it != by_account_.end() && it->second.count(s);
    if (!registered && !opening_.count(s)) return;
    QueueLocked(s);
  }
  cv_.notify_one();
}

void LiveHub::QueueLocked(LiveStream* s) {
  // One Fetch per stream at a time: a stream woken while a worker reads for it is queued again
  // when that read ends, so two reads from the same position never both send their entries.
  if (busy_.count(s)) {
    again_.insert(s);
    return;
  }
  if (queued_.insert(s).second) pending_.push_back(s);
}

void LiveHub::Wake(const std::string& account) {
  // Queued under the same lock that Remove takes, so no stream is queued after its removal.
  {
    std::lock_guard lock(mu_);
    if (account.empty()) {
      for (const auto& [a, set] : by_account_) {
        for (LiveStream* s : set) QueueLocked(s);
      }
    } else if (auto it = by_account_.find(account); it != by_account_.end()) {
      for (LiveStream* s : it->second) QueueLocked(s);
    }
  }
  cv_.notify_all();
}

void LiveHub::Work() {
  auto next_sweep = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (!stop_.load()) {
    LiveStream* s = nullptr;
    {
      std::unique_lock lock(mu_);
      cv_.wait_until(lock, next_sweep, [this] { return stop_.load() || !pending_.empty(); });
      if (stop_.load()) return;
      if (pending_.empty()) {
        next_sweep = std::chrono::steady_clock::now() + std::chrono::seconds(2);
        lock.unlock();
        Wake("");  // the periodic look, in case a hint was lost
        continue;
      }
      s = pending_.front();
      pending_.pop_front();
      queued_.erase(s);
      busy_.insert(s);
    }
    s->Fetch();
    bool doomed = false;
    {
      std::lock_guard lock(mu_);
      busy_.erase(s);
      doomed = doomed_.erase(s) > 0;
      if (!doomed && again_.erase(s)) QueueLocked(s);
    }
    if (doomed) delete s;
    cv_.notify_all();
  }
}

void LiveHub::Subscribe() {
  bool warned = false;
  // Connected like every other Redis client (TLS for rediss://, AUTH, SELECT).
  infra::redis::DedicatedConnection connection(subscriber_options_);
  while (!stop_.load()) {
    absl::Status status = connection.Connect();
    redisContext* ctx = connection.context();
    if (status.ok()) {
      auto* r = static_cast<redisReply*>(redisCommand(ctx, "SUBSCRIBE %s", keys::kLive));
      if (r == nullptr || r->type == REDIS_REPLY_ERROR) {
        status = absl::UnavailableError(r != nullptr ? r->str : ctx->errstr);
      }
      if (r != nullptr) freeReplyObject(r);
    }
    if (status.ok()) {
      subscriber_fd_.store(ctx->fd);
      if (stop_.load()) ::shutdown(ctx->fd, SHUT_RDWR);
      warned = false;
      Wake("");  // entries may have come while no one listened
      while (!stop_.load()) {
        void* raw = nullptr;
        if (redisGetReply(ctx, &raw) != REDIS_OK || raw == nullptr) break;
        auto* r = static_cast<redisReply*>(raw);
        if (r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
            r->element[2]->type == REDIS_REPLY_STRING) {
          Wake(std::string(r->element[2]->str, r->element[2]->len));
        }
        freeReplyObject(raw);
      }
      subscriber_fd_.store(-1);
    } else if (!warned) {
      infra::log::Warn("live_subscribe_failed", {{"error", status.message()}});
      warned = true;
    }
    connection.Close();
    for (int i = 0; i < 10 && !stop_.load(); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

}  // namespace cityhub::notifications
