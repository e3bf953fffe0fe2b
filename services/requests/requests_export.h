#pragma once

#include <atomic>
#include <functional>
#include <string>

#include <grpcpp/server_context.h>
#include <grpcpp/support/server_callback.h>

#include "absl/status/statusor.h"
#include "cityhub/api/annotations.pb.h"
#include "cityhub/requests/v1/requests.pb.h"
#include "infra/executor.h"
#include "services/requests/export_format.h"
#include "services/requests/request_input.h"
#include "services/requests/request_store.h"

// The open-data export (#15) as a stream: one page (up to 10 000 requests of the time range)
// leaves in pieces of about kExportPieceBytes, each read (on the executor: the store blocks)
// only after gRPC took the previous one, so that an export holds a few hundred requests however
// large the page and however slowly its client reads. A cap on the exports open at once per
// process: past it, RESOURCE_EXHAUSTED with retry-after.
namespace cityhub::requests {

inline constexpr int kMaxExportPageSize = 10'000;
inline constexpr size_t kExportPieceBytes = 64 * 1024;

// One export call, checked (RequestsService::CheckExport).
struct ExportPlan {
  ExportFormat format = ExportFormat::kGeoJson;
  std::string jurisdiction;
  std::string license;
  std::string district;  // empty: any
  ListFilter filter;     // before_id is the page token
  RequestStore::ListIndex index;
  int page_size = kMaxExportPageSize;
  int64_t now_ms = 0;
};

struct ExportDeps {
  infra::BoundedExecutor& executor;
  RequestStore& store;
  // Exports open at once in this process, and their cap.
  std::atomic<int>* open = nullptr;
  int max_open = 4;
  // Checks the call (authorization, filters); runs on the executor.
  std::function<absl::StatusOr<ExportPlan>()> check;
  // The public view of a stored request (reads the catalogue: may block).
  std::function<void(const StoredRequest&, cityhub::requests::v1::ServiceRequest*)> view;
};

// Starts an export; the first message carries the content type, content_length -1 (not known:
// the gateway sends it chunked), the file name and the next page token. The reactor deletes
// itself when done.
grpc::ServerWriteReactor<cityhub::api::HttpBody>* StartExport(grpc::CallbackServerContext* ctx,
                                                              ExportDeps deps);

}  // namespace cityhub::requests
