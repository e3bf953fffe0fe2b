#pragma once

#include "cityhub/notifications/v1/notifications.grpc.pb.h"
#include "infra/auth/authorizer.h"
#include "infra/clock.h"
#include "services/notifications/fanout.h"
#include "services/notifications/live.h"
#include "services/notifications/notification_store.h"

namespace cityhub::notifications {

struct NotificationsDeps {
  NotificationStore& store;
  LiveHub& live;
  const infra::auth::Authorizer& authorizer;
  const infra::Clock& clock;
};

// The notifications gRPC service on the callback API: the live stream is a write reactor fed
// by the LiveHub; the unary methods run inline with short Redis round trips.
class NotificationsService final : public cityhub::notifications::v1::NotificationsService::CallbackService {
 public:
  explicit NotificationsService(NotificationsDeps deps);

#define CITYHUB_RPC(Name, Request, Response)                                                       \
  grpc::ServerUnaryReactor* Name(grpc::CallbackServerContext* ctx,                                 \
                                 const cityhub::notifications::v1::Request* request,               \
                                 cityhub::notifications::v1::Response* response) override {       \
    auto* reactor = ctx->DefaultReactor();                                                         \
    reactor->Finish(Do##Name(ctx, request, response));                                            \
    return reactor;                                                                                \
  }                                                                                                \
  grpc::Status Do##Name(grpc::ServerContextBase* ctx, const cityhub::notifications::v1::Request* request, \
                        cityhub::notifications::v1::Response* response)
  CITYHUB_RPC(ListNotifications, ListNotificationsRequest, ListNotificationsResponse);
  CITYHUB_RPC(GetUnreadCount, GetUnreadCountRequest, UnreadCount);
  CITYHUB_RPC(MarkRead, MarkReadRequest, Notification);
  CITYHUB_RPC(MarkAllRead, MarkAllReadRequest, UnreadCount);
  CITYHUB_RPC(RegisterDevice, RegisterDeviceRequest, Device);
  CITYHUB_RPC(ListDevices, ListDevicesRequest, ListDevicesResponse);
  CITYHUB_RPC(DeleteDevice, DeleteDeviceRequest, DeleteDeviceResponse);
  CITYHUB_RPC(GetPreferences, GetPreferencesRequest, NotificationPreferences);
  CITYHUB_RPC(UpdatePreferences, UpdatePreferencesRequest, NotificationPreferences);
  CITYHUB_RPC(CreateWebhook, CreateWebhookRequest, Webhook);
  CITYHUB_RPC(ListWebhooks, ListWebhooksRequest, ListWebhooksResponse);
  CITYHUB_RPC(GetWebhook, GetWebhookRequest, Webhook);
  CITYHUB_RPC(DeleteWebhook, DeleteWebhookRequest, DeleteWebhookResponse);
  CITYHUB_RPC(ExportUserData, ExportUserDataRequest, UserDataExport);
#undef CITYHUB_RPC

  grpc::ServerWriteReactor<cityhub::notifications::v1::Notification>* StreamNotifications(
      grpc::CallbackServerContext* ctx, const cityhub::notifications::v1::StreamNotificationsRequest* request) override;

 private:
  grpc::Status Done(grpc::ServerContextBase* ctx, const absl::Status& status) const;
  NotificationsDeps deps_;
};

// The preferences in API form, and back with validation (INVALID_ARGUMENT naming the field).
cityhub::notifications::v1::NotificationPreferences PreferencesToApi(const StoredPreferences& p);
absl::StatusOr<StoredPreferences> PreferencesFromApi(const cityhub::notifications::v1::NotificationPreferences& p);

}  // namespace cityhub::notifications
