#include "services/requests/components.h"

#include <utility>

#include "infra/events/consumer.h"
#include "infra/events/streams.h"
#include "infra/grpc/serve.h"
#include "infra/log.h"
#include "services/requests/keys.h"

namespace cityhub::requests {

namespace {

using namespace std::chrono_literals;
using Wait = std::optional<std::chrono::milliseconds>;

// Seeds the catalogue once; tries again while Redis is unavailable.
Wait SeedStep(RequestsService& service, const std::string& seed, const std::string& jurisdiction) {
  auto created = service.SeedCatalogue(seed, jurisdiction);
  if (created.ok()) {
    if (*created > 0) infra::log::Info("catalogue_seeded", {{"services", *created}});
    return std::nullopt;
  }
  infra::log::Warn("catalogue_seed_failed", {{"error", created.status().message()}});
  if (created.status().code() != absl::StatusCode::kUnavailable) return std::nullopt;
  return 1s;
}

// Data of versions before the weekly geo index is moved in the background (until then,
// near-me lists lack the old entries, which is better than not starting), and again every
// minute: during a rolling update, replicas of the earlier version still write there.
Wait MigrateStep(RequestStore& requests, const RequestsSettings& settings,
                 const std::stop_token& stop) {
  constexpr int64_t kStep = 10'000;
  for (const auto& [jurisdiction, bounds] : settings.jurisdictions) {
    int64_t moved_total = 0;
    absl::StatusOr<int64_t> moved = kStep;
    while (moved.ok() && *moved == kStep && !stop.stop_requested()) {
      moved = requests.MigrateGeoIndex(jurisdiction, kStep);
      if (moved.ok()) moved_total += *moved;
    }
    if (moved_total > 0) infra::log::Info("geo_index_migrated", {{"entries", moved_total}});
    if (!moved.ok())
      infra::log::Warn("geo_index_migration_failed", {{"error", moved.status().message()}});
    // Requests filed before the department index existed (issue 14); a no-op once through.
    absl::StatusOr<int64_t> read = kStep;
    while (read.ok() && *read > 0 && !stop.stop_requested()) {
      read = requests.BackfillDepartmentIndex(jurisdiction, kStep);
    }
    if (!read.ok())
      infra::log::Warn("department_backfill_failed", {{"error", read.status().message()}});
  }
  return 60s;
}

// Seeds the boundary and districts once (only where none is stored); again while Redis is
// unavailable.
Wait GeographySeedStep(RequestsService& service, const std::string& boundary,
                       const std::string& districts, const std::string& jurisdiction) {
  auto stored = service.SeedGeography(boundary, districts, jurisdiction);
  if (stored.ok()) {
    if (*stored > 0) infra::log::Info("geography_seeded", {{"documents", *stored}});
    return std::nullopt;
  }
  infra::log::Warn("geography_seed_failed", {{"error", stored.status().message()}});
  if (stored.status().code() != absl::StatusCode::kUnavailable) return std::nullopt;
  return 1s;
}

// Open requests get their new districts in batches after a change of the districts; the
// cursor is in Redis, so another replica or a restart goes on where this one stopped.
Wait ReassignStep(RequestsService& service, const RequestsSettings& settings,
                  const std::stop_token& stop) {
  constexpr int kBatch = 200;
  for (const auto& [jurisdiction, bounds] : settings.jurisdictions) {
    absl::StatusOr<int> read = kBatch;
    while (read.ok() && *read == kBatch && !stop.stop_requested()) {
      read = service.ReassignDistricts(jurisdiction, kBatch);
    }
    if (!read.ok())
      infra::log::Warn("district_reassignment_failed", {{"error", read.status().message()}});
  }
  return 2s;
}

}  // namespace

RequestsParts AddRequestsComponents(infra::Components& graph, const RequestsInfra& infra,
                                    RequestsOptions options, RequestsWorkerOptions workers) {
  // Stores.
  auto& requests = graph.Make<RequestStore>(infra.redis, &infra.async_redis);
  requests.set_contact_retention(options.settings.contact_retention);
  auto& catalogue_store = graph.Make<CatalogueStore>(infra.redis);
  auto& media = graph.Make<MediaStore>(infra.redis, options.media_dir);
  auto& templates = graph.Make<ResponseTemplateStore>(infra.redis);
  auto& stats = graph.Make<StatsStore>(infra.redis);
  auto& geography_store = graph.Make<GeographyStore>(infra.redis);
  // Domain.
  auto& catalogue = graph.Make<Catalogue>(catalogue_store, options.catalogue_ttl);
  auto& metrics = graph.Make<RequestsMetrics>(infra.metrics);
  auto& staff = graph.Make<StaffDirectory>(infra.accounts, infra.internal_token);
  auto& geography = graph.Make<Geography>(geography_store, std::chrono::milliseconds(1000));
  // The gRPC service, with its executors.
  auto executor = std::make_unique<infra::BoundedExecutor>(options.executor, infra.metrics);
  std::unique_ptr<infra::BoundedExecutor> media_executor;
  if (options.media_executor) {
    media_executor =
        std::make_unique<infra::BoundedExecutor>(*options.media_executor, infra.metrics);
  }
  auto& service = graph.Make<RequestsService>(
      RequestsDeps{requests, catalogue_store, catalogue, media, templates, infra.authorizer,
                   infra.clock, metrics, staff, stats, geography},
      options.settings, std::move(executor), std::move(media_executor));
  // Background workers, started in this order once the server listens.
  if (workers.account_events != nullptr) {
    infra::events::ConsumerOptions consumer;
    consumer.stream = infra::events::kAccountsStream;
    consumer.group = kConsumerGroup;
    consumer.consumer = workers.consumer_name;
    consumer.dead_letter_stream = kDeadEvents;
    const auto handle = [&service](const infra::events::StreamEntry& e) {
      return e.type == "AccountDeleted" ? service.OnAccountEvent(e.payload) : absl::OkStatus();
    };
    graph.MakeWorker<infra::events::Consumer>(
        "account_events", *workers.account_events, consumer,
        infra::events::ObservingLag(handle, metrics.event_lag(), infra.clock), infra.metrics,
        infra.clock);
  }
  if (!workers.catalogue_seed.empty()) {
    graph.Loop("catalogue_seed",
               [&service, seed = std::move(workers.catalogue_seed),
                jurisdiction = options.settings.default_jurisdiction](const std::stop_token&) {
                 return SeedStep(service, seed, jurisdiction);
               });
  }
  if (!workers.boundary_seed.empty() || !workers.districts_seed.empty()) {
    graph.Loop("geography_seed",
               [&service, boundary = std::move(workers.boundary_seed),
                districts = std::move(workers.districts_seed),
                jurisdiction = options.settings.default_jurisdiction](const std::stop_token&) {
                 return GeographySeedStep(service, boundary, districts, jurisdiction);
               });
  }
  if (workers.district_reassignment) {
    graph.Loop("district_reassignment",
               [&service, settings = options.settings](const std::stop_token& stop) -> Wait {
                 return ReassignStep(service, settings, stop);
               });
  }
  if (workers.migrate_geo_index) {
    graph.Loop("geo_index_migration",
               [&requests, settings = options.settings](const std::stop_token& stop) {
                 return MigrateStep(requests, settings, stop);
               });
    // Counts requests stored before the statistics existed, once (#15, stats_store.h).
    graph.Loop("stats_rebuild", [&stats, settings = options.settings](const std::stop_token& stop) {
      std::vector<std::string> jurisdictions;
      for (const auto& [j, bounds] : settings.jurisdictions) jurisdictions.push_back(j);
      return RebuildStatsStep(stats, jurisdictions, stop);
    });
  }
  if (workers.contact_erasure) {
    // Contacts whose retention ended, from the schedule (never a scan of all requests).
    graph.Loop("contact_erasure", [&service](const std::stop_token&) -> Wait {
      auto swept = service.SweepContactErasures(100);
      if (!swept.ok()) {
        infra::log::Warn("contact_erasure_failed", {{"error", swept.status().message()}});
        return 10s;
      }
      return *swept == 100 ? 0s : 30s;
    });
  }
  // The server last, so that it shuts down before anything it serves is destroyed.
  auto& server = infra::AddGrpcServer(graph, options.server, infra.metrics, service, infra.redis);
  return {requests, catalogue_store, catalogue, media, service, geography, server};
}

}  // namespace cityhub::requests
