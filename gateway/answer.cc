// Every answer's last steps: the encode side of the filters (filters.h), then the responder.
#include "gateway/gateway.h"

namespace cityhub::gateway {

void Gateway::Send(const HttpRequest& request, const RequestContext& ctx, Responder& responder,
                   HttpResponse response) {
  responder.Reply(Finish(request, ctx, std::move(response)));
}

HttpResponse Gateway::Finish(const HttpRequest& request, const RequestContext& ctx,
                             HttpResponse response) {
  chain_.Encode(request, ctx, response);
  return response;
}

}  // namespace cityhub::gateway
