// GET /v1/requests:export (#15): the reactor that streams one page of the open-data file, and
// the service's part (checking the call, the public view).
#include "services/requests/requests_export.h"

#include <algorithm>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "infra/grpc/stream.h"
#include "infra/grpc/unary.h"
#include "infra/ids.h"
#include "infra/status.h"
#include "infra/text.h"
#include "services/requests/requests_service.h"

namespace cityhub::requests {

namespace {

using cityhub::api::HttpBody;

// Requests read from the store per round trip.
constexpr size_t kExportBatch = 200;

class RequestExport final : public infra::ExecutorWriter<HttpBody> {
 public:
  RequestExport(grpc::CallbackServerContext* ctx, ExportDeps deps, std::atomic<int>* slot)
      : ExecutorWriter(deps.executor, ctx, slot), deps_(std::move(deps)) {
    Step([this] { return First(); });
  }

  void OnWriteDone(bool ok) override {
    if (!ok) return Finish(infra::CancelledStatus());  // the caller went away
    if (ended_) return Finish(grpc::Status::OK);
    message_.Clear();
    Step([this] { return Next(); });
  }

 private:
  // Checks the call and reads the page's ids from the index: page_size + 1 of them, so that
  // the next page token is known before the head leaves.
  std::optional<grpc::Status> First() {
    auto plan = deps_.check();
    if (!plan.ok()) return infra::Done(ctx_, plan.status());
    plan_ = *std::move(plan);
    auto ids = deps_.store.NewestIn(plan_.index, plan_.filter.since_ms, plan_.filter.until_ms,
                                    plan_.filter.before_id, plan_.page_size + 1);
    if (!ids.ok()) return infra::Done(ctx_, ids.status());
    std::string next;
    if (static_cast<int>(ids->size()) > plan_.page_size) {
      ids->resize(plan_.page_size);
      next = ids->back().id;
    }
    ids_.reserve(ids->size());
    for (auto& i : *ids) ids_.push_back(std::move(i.id));
    meta_ = {plan_.jurisdiction, plan_.license, "", plan_.now_ms};
    message_.set_content_type(std::string(ExportContentType(plan_.format)));
    message_.set_content_length(-1);
    message_.set_content_disposition(ExportContentDisposition(plan_.format, plan_.now_ms));
    next_page_token_ = next;
    message_.set_next_page_token(std::move(next));
    meta_.next_page_token = next_page_token_;
    *message_.mutable_data() = ExportHead(plan_.format, meta_);
    return Next();
  }

  // Appends batches until the piece is large enough or the page is done, then writes it.
  std::optional<grpc::Status> Next() {
    std::string& out = *message_.mutable_data();
    while (out.size() < kExportPieceBytes && offset_ < ids_.size()) {
      const size_t end = std::min(ids_.size(), offset_ + kExportBatch);
      std::vector<std::string> keys(ids_.begin() + offset_, ids_.begin() + end);
      offset_ = end;
      auto requests = deps_.store.GetMany(keys);
      if (!requests.ok()) return infra::Done(ctx_, requests.status());
      for (const auto& r : *requests) {
        if (!r || r->jurisdiction_id() != plan_.jurisdiction || !plan_.filter.Matches(*r)) continue;
        if (!plan_.district.empty() && r->district() != plan_.district) continue;
        view_.Clear();
        deps_.view(*r, &view_);
        AppendExportRecord(plan_.format, view_, meta_, written_ == 0, &out);
        ++written_;
      }
    }
    if (offset_ >= ids_.size()) {
      out.append(ExportTail(plan_.format));
      ended_ = true;
    }
    StartWrite(&message_);
    return std::nullopt;
  }

  ExportDeps deps_;
  ExportPlan plan_;
  std::string next_page_token_;
  ExportMeta meta_;               // views into plan_ and next_page_token_
  std::vector<std::string> ids_;  // the page, newest first
  size_t offset_ = 0;
  int64_t written_ = 0;
  bool ended_ = false;
  cityhub::requests::v1::ServiceRequest view_;
  // Written by one step, kept until its OnWriteDone (only the first carries the head fields).
  HttpBody message_;
};

}  // namespace

grpc::ServerWriteReactor<HttpBody>* StartExport(grpc::CallbackServerContext* ctx, ExportDeps deps) {
  std::atomic<int>* open = deps.open;
  const int max_open = deps.max_open;
  return infra::StartCapped<HttpBody>(
      ctx, open, max_open,
      grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                   "too many exports at once; try again soon"),
      "5", [&](std::atomic<int>* slot) { return new RequestExport(ctx, std::move(deps), slot); });
}

// --- the service's part ---------------------------------------------------------------------

grpc::ServerWriteReactor<HttpBody>* RequestsService::ExportRequests(
    grpc::CallbackServerContext* ctx, const v1::ExportRequestsRequest* req) {
  auto language = std::make_shared<std::string>("de");
  infra::BoundedExecutor& executor = media_executor_ ? *media_executor_ : *executor_;
  return StartExport(
      ctx, ExportDeps{executor, deps_.requests, &open_exports_, settings_.max_exports,
                      [this, ctx, req, language]() -> absl::StatusOr<ExportPlan> {
                        ASSIGN_OR_RETURN(*language, Language(req->language()));
                        return CheckExport(ctx, *req);
                      },
                      [this, language](const StoredRequest& r, v1::ServiceRequest* out) {
                        // Everyone, staff included, gets the public view: the file is published.
                        auto service = deps_.catalogue.Find(r.jurisdiction_id(), r.service_code());
                        RequestToApi(r, service.ok() ? service->get() : nullptr,
                                     Visibility::kPublic, *language, settings_.public_base_url,
                                     out);
                        out->set_district(r.district());
                      }});
}

absl::StatusOr<ExportPlan> RequestsService::CheckExport(grpc::ServerContextBase* ctx,
                                                        const v1::ExportRequestsRequest& req) {
  ASSIGN_OR_RETURN(auto caller, deps_.authorizer.Authorize(*ctx, "ExportRequests"));
  ExportPlan plan;
  if (req.format() == "geojson") {
    plan.format = ExportFormat::kGeoJson;
  } else if (req.format() == "csv") {
    plan.format = ExportFormat::kCsv;
  } else {
    return infra::InvalidField("format", "must be geojson or csv");
  }
  ASSIGN_OR_RETURN(plan.jurisdiction, Jurisdiction(req.jurisdiction_id()));
  if (req.page_size() < 0 || req.page_size() > kMaxExportPageSize)
    return infra::InvalidField("page_size", "must be 1..10000");
  if (req.page_size() > 0) plan.page_size = req.page_size();
  if (!req.district().empty() && !IsServiceCode(req.district())) {
    return infra::InvalidField("district", "must be 1..64 characters of A-Z, a-z, 0-9, _, . or -");
  }
  plan.district = req.district();
  // The list filters, checked as GET /v1/requests checks them (the same field names).
  v1::ListRequestsRequest list;
  *list.mutable_service_code() = req.service_code();
  *list.mutable_status() = req.status();
  if (req.has_lat()) list.set_lat(req.lat());
  if (req.has_long_()) list.set_long_(req.long_());
  if (req.has_radius_m()) list.set_radius_m(req.radius_m());
  if (req.has_since()) *list.mutable_since() = req.since();
  if (req.has_until()) *list.mutable_until() = req.until();
  list.set_page_token(req.page_token());
  ASSIGN_OR_RETURN(plan.filter, ParseListFilter(list));
  // One category reads its own index; anything else the jurisdiction's time index.
  plan.index = {RequestStore::ListIndex::kTime, plan.jurisdiction, ""};
  if (plan.filter.service_codes.size() == 1)
    plan.index = {RequestStore::ListIndex::kService, plan.jurisdiction,
                  *plan.filter.service_codes.begin()};
  const auto license = settings_.open_data_licenses.find(plan.jurisdiction);
  plan.license =
      license != settings_.open_data_licenses.end() ? license->second : settings_.open_data_license;
  plan.now_ms = infra::UnixMillis(deps_.clock.Now());
  return plan;
}

}  // namespace cityhub::requests
