#pragma once

#include <memory>

#include "cityhub/notifications/v1/notifications.grpc.pb.h"
#include "infra/auth/authorizer.h"
#include "infra/clock.h"
#include "infra/executor.h"
#include "infra/grpc/unary.h"
#include "services/notifications/destination_policy.h"
#include "services/notifications/fanout.h"
#include "services/notifications/live.h"
#include "services/notifications/stores.h"

namespace cityhub::notifications {

struct NotificationsDeps {
  Stores& stores;
  LiveHub& live;
  const infra::auth::Authorizer& authorizer;
  const infra::Clock& clock;
  // Webhook URLs that can be seen not to be allowed are refused at registration.
  const DestinationPolicy& webhook_destinations;
};

// The notifications gRPC service on the callback API (the concurrency model of
// docs/design.md): the live stream is a write reactor fed by the LiveHub's workers; the inbox
// page (ListNotifications) completes through the async Redis client from the callback thread;
// the other unary methods run on the service's bounded executor with short blocking Redis round
// trips, and a full executor answers RESOURCE_EXHAUSTED.
class NotificationsService final
    : public cityhub::notifications::v1::NotificationsService::CallbackService,
      public infra::UnaryMethods<NotificationsService> {
 public:
  // `executor` runs the blocking handler bodies; it is stopped (draining its queue) when the
  // service is destroyed, which must happen after the server has shut down.
  NotificationsService(NotificationsDeps deps, std::unique_ptr<infra::BoundedExecutor> executor);

  // The inbox page through the async client (its ids, then one pipeline), finished from the
  // reply on the client's I/O thread: no executor hop.
  grpc::ServerUnaryReactor* ListNotifications(grpc::CallbackServerContext* ctx,
                                              const v1::ListNotificationsRequest* request,
                                              v1::ListNotificationsResponse* response) override;
  // The other unary methods run their bodies (Do...) on the service's executor.
  grpc::ServerUnaryReactor* GetUnreadCount(grpc::CallbackServerContext* ctx,
                                           const v1::GetUnreadCountRequest* request,
                                           v1::UnreadCount* response) override {
    return Run(ctx, request, response, &NotificationsService::DoGetUnreadCount);
  }
  grpc::ServerUnaryReactor* MarkRead(grpc::CallbackServerContext* ctx,
                                     const v1::MarkReadRequest* request,
                                     v1::Notification* response) override {
    return Run(ctx, request, response, &NotificationsService::DoMarkRead);
  }
  grpc::ServerUnaryReactor* MarkAllRead(grpc::CallbackServerContext* ctx,
                                        const v1::MarkAllReadRequest* request,
                                        v1::UnreadCount* response) override {
    return Run(ctx, request, response, &NotificationsService::DoMarkAllRead);
  }
  grpc::ServerUnaryReactor* RegisterDevice(grpc::CallbackServerContext* ctx,
                                           const v1::RegisterDeviceRequest* request,
                                           v1::Device* response) override {
    return Run(ctx, request, response, &NotificationsService::DoRegisterDevice);
  }
  grpc::ServerUnaryReactor* ListDevices(grpc::CallbackServerContext* ctx,
                                        const v1::ListDevicesRequest* request,
                                        v1::ListDevicesResponse* response) override {
    return Run(ctx, request, response, &NotificationsService::DoListDevices);
  }
  grpc::ServerUnaryReactor* DeleteDevice(grpc::CallbackServerContext* ctx,
                                         const v1::DeleteDeviceRequest* request,
                                         v1::DeleteDeviceResponse* response) override {
    return Run(ctx, request, response, &NotificationsService::DoDeleteDevice);
  }
  grpc::ServerUnaryReactor* GetPreferences(grpc::CallbackServerContext* ctx,
                                           const v1::GetPreferencesRequest* request,
                                           v1::NotificationPreferences* response) override {
    return Run(ctx, request, response, &NotificationsService::DoGetPreferences);
  }
  grpc::ServerUnaryReactor* UpdatePreferences(grpc::CallbackServerContext* ctx,
                                              const v1::UpdatePreferencesRequest* request,
                                              v1::NotificationPreferences* response) override {
    return Run(ctx, request, response, &NotificationsService::DoUpdatePreferences);
  }
  grpc::ServerUnaryReactor* CreateWebhook(grpc::CallbackServerContext* ctx,
                                          const v1::CreateWebhookRequest* request,
                                          v1::Webhook* response) override {
    return Run(ctx, request, response, &NotificationsService::DoCreateWebhook);
  }
  grpc::ServerUnaryReactor* ListWebhooks(grpc::CallbackServerContext* ctx,
                                         const v1::ListWebhooksRequest* request,
                                         v1::ListWebhooksResponse* response) override {
    return Run(ctx, request, response, &NotificationsService::DoListWebhooks);
  }
  grpc::ServerUnaryReactor* GetWebhook(grpc::CallbackServerContext* ctx,
                                       const v1::GetWebhookRequest* request,
                                       v1::Webhook* response) override {
    return Run(ctx, request, response, &NotificationsService::DoGetWebhook);
  }
  grpc::ServerUnaryReactor* DeleteWebhook(grpc::CallbackServerContext* ctx,
                                          const v1::DeleteWebhookRequest* request,
                                          v1::DeleteWebhookResponse* response) override {
    return Run(ctx, request, response, &NotificationsService::DoDeleteWebhook);
  }
  grpc::ServerUnaryReactor* ExportUserData(grpc::CallbackServerContext* ctx,
                                           const v1::ExportUserDataRequest* request,
                                           v1::UserDataExport* response) override {
    return Run(ctx, request, response, &NotificationsService::DoExportUserData);
  }

  grpc::ServerWriteReactor<cityhub::notifications::v1::Notification>* StreamNotifications(
      grpc::CallbackServerContext* ctx,
      const cityhub::notifications::v1::StreamNotificationsRequest* request) override;

 private:
  // Run (infra::UnaryMethods) posts the bodies here.
  friend class infra::UnaryMethods<NotificationsService>;
  infra::BoundedExecutor& unary_executor() { return *executor_; }

  // infra::StartWithoutBlocking with this service's executor and authorizer.
  template <typename Start>
  grpc::ServerUnaryReactor* StartWithoutBlocking(grpc::CallbackServerContext* ctx, Start start) {
    return infra::StartWithoutBlocking(*executor_, ctx, deps_.authorizer.MayBlock(*ctx),
                                       std::move(start));
  }
  // ListNotifications from authorization on; finishes `reactor` from the async client's reply.
  void StartListNotifications(grpc::CallbackServerContext* ctx,
                              const v1::ListNotificationsRequest* req,
                              v1::ListNotificationsResponse* response,
                              grpc::ServerUnaryReactor* reactor);

  // The bodies of the unary methods; each runs on a worker of executor_.
  absl::Status DoGetUnreadCount(grpc::ServerContextBase* ctx,
                                const v1::GetUnreadCountRequest* request,
                                v1::UnreadCount* response);
  absl::Status DoMarkRead(grpc::ServerContextBase* ctx, const v1::MarkReadRequest* request,
                          v1::Notification* response);
  absl::Status DoMarkAllRead(grpc::ServerContextBase* ctx, const v1::MarkAllReadRequest* request,
                             v1::UnreadCount* response);
  absl::Status DoRegisterDevice(grpc::ServerContextBase* ctx,
                                const v1::RegisterDeviceRequest* request, v1::Device* response);
  absl::Status DoListDevices(grpc::ServerContextBase* ctx, const v1::ListDevicesRequest* request,
                             v1::ListDevicesResponse* response);
  absl::Status DoDeleteDevice(grpc::ServerContextBase* ctx, const v1::DeleteDeviceRequest* request,
                              v1::DeleteDeviceResponse* response);
  absl::Status DoGetPreferences(grpc::ServerContextBase* ctx,
                                const v1::GetPreferencesRequest* request,
                                v1::NotificationPreferences* response);
  absl::Status DoUpdatePreferences(grpc::ServerContextBase* ctx,
                                   const v1::UpdatePreferencesRequest* request,
                                   v1::NotificationPreferences* response);
  absl::Status DoCreateWebhook(grpc::ServerContextBase* ctx,
                               const v1::CreateWebhookRequest* request, v1::Webhook* response);
  absl::Status DoListWebhooks(grpc::ServerContextBase* ctx, const v1::ListWebhooksRequest* request,
                              v1::ListWebhooksResponse* response);
  absl::Status DoGetWebhook(grpc::ServerContextBase* ctx, const v1::GetWebhookRequest* request,
                            v1::Webhook* response);
  absl::Status DoDeleteWebhook(grpc::ServerContextBase* ctx,
                               const v1::DeleteWebhookRequest* request,
                               v1::DeleteWebhookResponse* response);
  absl::Status DoExportUserData(grpc::ServerContextBase* ctx,
                                const v1::ExportUserDataRequest* request,
                                v1::UserDataExport* response);

  NotificationsDeps deps_;
  // Last, so that it is stopped first: its queued calls still use deps_.
  std::unique_ptr<infra::BoundedExecutor> executor_;
};

// The preferences in API form, and back with validation (INVALID_ARGUMENT naming the field).
cityhub::notifications::v1::NotificationPreferences PreferencesToApi(const StoredPreferences& p);
absl::StatusOr<StoredPreferences> PreferencesFromApi(
    const cityhub::notifications::v1::NotificationPreferences& p);

}  // namespace cityhub::notifications
