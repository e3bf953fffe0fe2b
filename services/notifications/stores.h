#pragma once

#include "infra/redis/async_client.h"
#include "infra/redis/client.h"
#include "services/notifications/device_store.h"
#include "services/notifications/event_store.h"
#include "services/notifications/feed_store.h"
#include "services/notifications/follow_store.h"
#include "services/notifications/inbox_store.h"
#include "services/notifications/preferences_store.h"
#include "services/notifications/webhook_store.h"

// The notifications service in Redis: one store per job, all on one client (their keys are in
// keys.h; the delivery queue is job_queue_store.h). The inbox page also reads through the async
// client (`async`), so that ListNotifications completes without an executor.
namespace cityhub::notifications {

struct Stores {
  Stores(infra::redis::Client& redis, infra::redis::AsyncClient& async)
      : inbox(redis, async),
        feed(redis, inbox),
        preferences(redis),
        devices(redis),
        webhooks(redis),
        follows(redis),
        events(redis, follows) {}
  Stores(const Stores&) = delete;
  Stores& operator=(const Stores&) = delete;

  InboxStore inbox;
  FeedStore feed;
  PreferencesStore preferences;
  DeviceStore devices;
  WebhookStore webhooks;
  FollowStore follows;
  EventStore events;
};

}  // namespace cityhub::notifications
