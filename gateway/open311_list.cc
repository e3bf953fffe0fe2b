// Open311's GET requests: filters, the date range and pages, walked over the service's cursor
// pages.
#include <algorithm>
#include <cctype>

#include <google/protobuf/util/time_util.h>

#include "gateway/open311_impl.h"
#include "infra/clock.h"
#include "infra/ids.h"
#include "infra/strings.h"
#include "infra/text.h"

namespace cityhub::gateway {

namespace requests_v1 = open311::requests_v1;
using google::protobuf::util::TimeUtil;
using open311::Get;
using open311::ParseDouble;
using open311::ParseInt;
using open311::RequestObject;

namespace {

constexpr int kMaxResults = 1000;
// How far page/page_size may reach into the newest results of the date range.
constexpr int kMaxPagedResults = 10'000;
constexpr int64_t kMaxSpanMs = int64_t{90} * 24 * 3600 * 1000;
// The near extension's radius when none is given, and its most (as GET /v1/requests).
constexpr double kDefaultRadiusM = 1000;
constexpr double kMaxRadiusM = 20000;

// A district_id (GET /v1/districts), as ListRequestsRequest.district takes it.
bool IsDistrictId(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
  });
}

}  // namespace

bool Open311::Impl::ParseExtensions(const ExchangePtr& ex, const Params& params, Listing* listing) {
  auto& q = listing->query;
  const std::string extensions = Get(params, "extensions");
  if (extensions != "" && extensions != "true" && extensions != "false") {
    Fail(ex, 400, "extensions: true or false");
    return false;
  }
  listing->extended = extensions == "true";
  // Near a point (the common Open311 extension): lat and long together, radius in metres.
  const std::string lat = Get(params, "lat"), lon = Get(params, "long"),
                    radius = Get(params, "radius");
  if (!lat.empty() || !lon.empty() || !radius.empty()) {
    double la = 0, lo = 0, r = kDefaultRadiusM;
    if (lat.empty() || lon.empty()) {
      Fail(ex, 400, lat.empty() ? "lat: required with long and radius" : "long: required with lat");
      return false;
    }
    if (!ParseDouble(lat, &la) || la < -85.05112878 || la > 85.05112878) {
      Fail(ex, 400, "lat: a number from -85.05112878 to 85.05112878");
      return false;
    }
    if (!ParseDouble(lon, &lo) || lo < -180 || lo > 180) {
      Fail(ex, 400, "long: a number from -180 to 180");
      return false;
    }
    if (!radius.empty() && (!ParseDouble(radius, &r) || !(r > 0) || r > kMaxRadiusM)) {
      Fail(ex, 400, "radius: metres, more than 0 and at most 20000");
      return false;
    }
    q.set_lat(la);
    q.set_long_(lo);
    q.set_radius_m(r);
  }
  const std::string district = Get(params, "district");
  if (!district.empty()) {
    if (!IsDistrictId(district)) {
      Fail(ex, 400, "district: 1..64 characters of A-Z, a-z, 0-9, _, . or -");
      return false;
    }
    q.set_district(district);
  }
  return true;
}

void Open311::Impl::ListRequests(const ExchangePtr& ex, const Params& params) {
  if (!NeedRequests(ex)) return;
  auto listing = std::make_shared<Listing>();
  listing->ex = ex;
  auto& q = listing->query;
  q.set_jurisdiction_id(ex->jurisdiction);
  q.set_language(ex->language);
  const std::string ids = Get(params, "service_request_id");
  if (!ids.empty()) {
    // A list of ids overrides every other filter.
    for (const auto& id : infra::SplitList(ids)) {
      if (!infra::IsUlid(id)) return Fail(ex, 400, "service_request_id: not a list of request ids");
      q.add_request_ids(id);
    }
    if (q.request_ids_size() > 100) return Fail(ex, 400, "service_request_id: at most 100 ids");
    listing->want = q.request_ids_size();
    return NextPage(listing);
  }
  if (!ParseExtensions(ex, params, listing.get())) return;
  for (const auto& code : infra::SplitList(Get(params, "service_code"))) {
    if (q.service_code_size() >= 20) return Fail(ex, 400, "service_code: at most 20 codes");
    q.add_service_code(code);
  }
  for (const auto& status : infra::SplitList(Get(params, "status"))) {
    if (status == "open") {
      for (auto s : {requests_v1::SUBMITTED, requests_v1::ACKNOWLEDGED, requests_v1::IN_PROGRESS})
        q.add_status(s);
    } else if (status == "closed") {
      for (auto s : {requests_v1::RESOLVED, requests_v1::REJECTED, requests_v1::DUPLICATE,
                     requests_v1::CLOSED}) {
        q.add_status(s);
      }
    } else {
      return Fail(ex, 400, "status: open or closed");
    }
  }
  // The date range: at most 90 days, the last 90 days by default.
  std::optional<int64_t> start, end;
  if (const std::string text = Get(params, "start_date"); !text.empty()) {
    start = open311::ParseDateTime(text);
    if (!start)
      return Fail(
          ex, 400,
          "start_date: not a W3C date-time with a time zone, e.g. 2026-11-01T00:00:00+01:00");
  }
  if (const std::string text = Get(params, "end_date"); !text.empty()) {
    end = open311::ParseDateTime(text);
    if (!end)
      return Fail(ex, 400,
                  "end_date: not a W3C date-time with a time zone, e.g. 2026-11-30T00:00:00+01:00");
  }
  const int64_t now = infra::UnixMillis(std::chrono::system_clock::now());
  if (!start && !end) {
    end = now + 1;  // until is exclusive
    start = *end - kMaxSpanMs;
  } else if (!start) {
    start = *end - kMaxSpanMs;
  } else if (!end) {
    end = *start + kMaxSpanMs;
  }
  if (*start >= *end) return Fail(ex, 400, "start_date: must be before end_date");
  if (*end - *start > kMaxSpanMs)
    return Fail(ex, 400, "start_date: the range may span at most 90 days");
  *q.mutable_since() = TimeUtil::MillisecondsToTimestamp(*start);
  *q.mutable_until() = TimeUtil::MillisecondsToTimestamp(*end);
  int page = 1, page_size = kMaxResults;
  if (const std::string text = Get(params, "page");
      !text.empty() && (!ParseInt(text, &page) || page < 1)) {
    return Fail(ex, 400, "page: a number from 1");
  }
  if (const std::string text = Get(params, "page_size");
      !text.empty() && (!ParseInt(text, &page_size) || page_size < 1 || page_size > kMaxResults)) {
    return Fail(ex, 400, "page_size: a number from 1 to 1000");
  }
  if (int64_t{page} * page_size > kMaxPagedResults) {
    return Fail(ex, 400,
                "page: only the newest 10000 results can be paged through; narrow the dates");
  }
  listing->skip = (page - 1) * page_size;
  listing->want = page_size;
  // One read unit was spent on the way in; each further page of the service this answer
  // walks through costs one more, so a deep page costs what its backend calls cost.
  const int backend_pages = (listing->skip + listing->want + 99) / 100;
  // Decided without waiting here; the rest runs where the decision arrives (it only starts
  // a call).
  gateway.rate_limit().ChargeMore(ex->ctx, cityhub::api::RATE_CLASS_READ, backend_pages - 1,
                                  "too many requests; ask for smaller pages or slow down",
                                  [this, ex, listing](std::optional<HttpResponse> refusal) {
                                    if (refusal) return Refuse(ex, *std::move(refusal));
                                    NextPage(listing);
                                  });
}

void Open311::Impl::NextPage(const std::shared_ptr<Listing>& listing) {
  auto call =
      std::make_shared<Call<requests_v1::ListRequestsRequest, requests_v1::ListRequestsResponse>>();
  call->context = Outbound(listing->ex);
  call->request = listing->query;
  if (call->request.request_ids_size() == 0) {
    const int missing = listing->skip + listing->want - static_cast<int>(listing->out.size());
    call->request.set_page_size(std::clamp(missing, 1, 100));
  }
  requests->async()->ListRequests(
      call->context.get(), &call->request, &call->response,
      [this, listing, call](grpc::Status status) {
        if (!status.ok()) return FailGrpc(listing->ex, status);
        for (const auto& r : call->response.requests()) {
          if (listing->skip > 0) {
            --listing->skip;
            continue;
          }
          if (static_cast<int>(listing->out.size()) < listing->want) {
            listing->out.push_back(RequestObject(r));
            if (listing->extended)
              listing->out.back()["extended_attributes"] = open311::ExtendedAttributes(r);
          }
        }
        const std::string& next = call->response.next_page_token();
        if (static_cast<int>(listing->out.size()) >= listing->want || next.empty()) {
          return Reply(listing->ex, 200, listing->out, "service_requests", "request");
        }
        listing->query.set_page_token(next);
        NextPage(listing);
      });
}

}  // namespace cityhub::gateway
