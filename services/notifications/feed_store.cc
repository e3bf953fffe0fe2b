#include "services/notifications/feed_store.h"

#include <algorithm>
#include <optional>
#include <string>

#include "infra/status.h"
#include "infra/strings.h"
#include "services/notifications/keys.h"

namespace cityhub::notifications {

using infra::redis::Reply;

namespace {

int64_t Sequence(const Reply& score) { return static_cast<int64_t>(std::stod(score.str())); }

}  // namespace

absl::StatusOr<int64_t> FeedStore::FeedPosition(std::string_view account,
                                                std::string_view after_id) {
  const std::string feed_key = keys::Feed(account);
  if (after_id.empty()) {
    ASSIGN_OR_RETURN(const Reply top,
                     redis_.Command({"ZREVRANGE", feed_key, "0", "0", "WITHSCORES"}));
    return top.elements().size() == 2 ? Sequence(top.elements()[1]) : 0;
  }
  ASSIGN_OR_RETURN(const Reply score, redis_.Command({"ZSCORE", feed_key, std::string(after_id)}));
  if (!score.is_nil()) return Sequence(score);
  // An id the feed does not hold (trimmed, or "0000…" for the beginning): just before the
  // first entry with a greater id, else the newest position. A duplicate is better than a gap.
  ASSIGN_OR_RETURN(const Reply feed, redis_.Command({"ZRANGE", feed_key, "0", "-1", "WITHSCORES"}));
  const auto& e = feed.elements();
  int64_t newest = 0;
  std::optional<int64_t> first_after;
  for (size_t i = 0; i + 1 < e.size(); i += 2) {
    newest = std::max(newest, Sequence(e[i + 1]));
    if (e[i].str() > after_id && !first_after) first_after = Sequence(e[i + 1]);
  }
  return first_after ? *first_after - 1 : newest;
}

absl::StatusOr<FeedPage> FeedStore::FeedAfter(std::string_view account, int64_t after, int count) {
  ASSIGN_OR_RETURN(const Reply reply,
                   redis_.Command({"ZRANGEBYSCORE", keys::Feed(account), infra::StrCat("(", after),
                                   "+inf", "WITHSCORES", "LIMIT", "0", std::to_string(count)}));
  FeedPage page;
  page.last = after;
  std::vector<std::string> ids;
  const auto& e = reply.elements();
  for (size_t i = 0; i + 1 < e.size(); i += 2) {
    ids.push_back(e[i].str());
    page.last = std::max(page.last, Sequence(e[i + 1]));
  }
  page.full = static_cast<int>(ids.size()) == count;
  ASSIGN_OR_RETURN(page.entries, inbox_.Load(account, ids));
  return page;
}

}  // namespace cityhub::notifications
