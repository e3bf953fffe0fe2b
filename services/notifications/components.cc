#include "services/notifications/components.h"

#include <algorithm>
#include <string_view>

#include "cityhub/events/v1/events.pb.h"
#include "infra/events/consumer.h"
#include "infra/events/events.h"
#include "infra/grpc/serve.h"
#include "infra/strings.h"
#include "services/notifications/keys.h"
#include "services/notifications/metrics.h"

namespace cityhub::notifications {
namespace {

void AddConsumer(infra::Components& graph, const NotificationsEnvironment& env,
                 const NotificationsSettings& settings, const EventSource& source, FanOut& fanout,
                 NotificationsMetrics& metrics) {
  infra::events::ConsumerOptions options;
  options.stream = source.stream;
  options.group = keys::kService;
  options.consumer = settings.consumer_name;
  options.dead_letter_stream = keys::DeadEvents(source.stream);
  options.claim_idle = settings.claim_idle;
  options.claim_every =
      std::min<std::chrono::milliseconds>(options.claim_every, settings.claim_idle);
  // Fanning out waits on Redis and the accounts service: several lanes overlap those waits,
  // each request's (or account's) events still in order on one lane.
  options.lanes = settings.event_lanes;
  options.order_key = [](const infra::events::StreamEntry& e) {
    cityhub::events::v1::Event event;
    return event.ParseFromString(e.payload) ? infra::events::OrderKey(event) : std::string();
  };
  graph.MakeWorker<infra::events::Consumer>(
      infra::StrCat("consumer ", source.stream), *source.redis, options,
      infra::events::ObservingLag(
          [&fanout](const infra::events::StreamEntry& e) { return fanout.Handle(e.payload); },
          metrics.event_lag.Get(), env.clock),
      env.metrics, env.clock);
}

}  // namespace

NotificationsParts BuildNotifications(infra::Components& graph, const NotificationsEnvironment& env,
                                      const NotificationsSettings& settings) {
  auto& metrics = graph.Make<NotificationsMetrics>(env.metrics);
  auto& stores = graph.Make<Stores>(env.redis, env.async_redis);
  auto& contacts =
      graph.Make<Contacts>(env.accounts, settings.internal_token, env.clock, settings.contact_ttl);
  ReporterMails* reporter_mails = nullptr;
  if (env.requests) {
    reporter_mails = &graph.Make<ReporterMails>(env.requests, settings.internal_token);
  }
  auto& fanout = graph.Make<FanOut>(stores, contacts, reporter_mails, env.clock, settings.fanout);
  auto& live = graph.Make<LiveHub>(stores.feed, env.subscriber, env.clock);
  auto& delivery =
      graph.Make<Delivery>(env.redis, stores, settings.delivery, env.clock, env.metrics);
  auto& destinations = graph.Make<DestinationPolicy>(settings.delivery.webhook_destinations);
  auto& service = graph.Make<NotificationsService>(
      NotificationsDeps{stores, live, env.authorizer, env.clock, destinations},
      std::make_unique<infra::BoundedExecutor>(settings.executor, env.metrics));

  graph.Adopt("live", live);
  const auto idle = settings.delivery.idle_poll;
  for (int i = 0; i < settings.delivery.workers; ++i) {
    graph.Loop(
        infra::StrCat("delivery ", i),
        [&delivery, idle](const std::stop_token&) -> std::optional<std::chrono::milliseconds> {
          return delivery.RunOne() ? std::chrono::milliseconds(0) : idle;
        });
  }
  for (const EventSource& source : settings.events) {
    AddConsumer(graph, env, settings, source, fanout, metrics);
  }
  // The server last, so that it shuts down before anything it serves is destroyed.
  auto& server = infra::AddGrpcServer(graph, settings.server, env.metrics, service, env.redis);
  return {stores, contacts, reporter_mails, fanout, live, delivery, service, server};
}

}  // namespace cityhub::notifications
