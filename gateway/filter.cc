#include "gateway/filter.h"

#include <algorithm>

#include "gateway/errors.h"

namespace cityhub::gateway {

HttpResponse ErrorIn(const ErrorFormat* errors, int status, grpc::StatusCode code,
                     std::string_view message) {
  return errors != nullptr ? errors->Error(status, code, message)
                           : ErrorResponse(status, code, message);
}

FilterChain::FilterChain(std::vector<std::unique_ptr<Filter>> filters)
    : filters_(std::move(filters)) {}

std::optional<HttpResponse> FilterChain::Decode(const HttpRequest& request,
                                                RequestContext& ctx) const {
  while (ctx.decoded < filters_.size()) {
    auto answer = filters_[ctx.decoded++]->OnRequest(request, ctx);
    if (answer || ctx.pending) return answer;
  }
  return std::nullopt;
}

void FilterChain::Encode(const HttpRequest& request, const RequestContext& ctx,
                         HttpResponse& response) const {
  for (size_t i = std::min(ctx.decoded, filters_.size()); i > 0; --i) {
    filters_[i - 1]->OnResponse(request, ctx, response);
  }
}

}  // namespace cityhub::gateway
