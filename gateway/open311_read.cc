// Open311's reads of one thing: discovery, services, services/{code}, requests/{id} and
// tokens/{token}.
#include "gateway/open311_impl.h"
#include "infra/ids.h"
#include "infra/strings.h"

namespace cityhub::gateway {

using infra::StrCat;
namespace requests_v1 = open311::requests_v1;
using open311::OrNull;
using open311::RequestObject;
using open311::ServiceDefinition;
using open311::ServiceObject;

namespace {

constexpr char kSpecification[] = "http://wiki.open311.org/GeoReport_v2";

}  // namespace

void Open311::Impl::Discovery(const ExchangePtr& ex) {
  const std::string changeset = open311::FormatDateTime(options.changeset_ms);
  Json endpoint;
  endpoint["specification"] = kSpecification;
  endpoint["url"] = StrCat(options.public_url, "/open311/v2");
  endpoint["changeset"] = changeset;
  endpoint["type"] = "production";
  endpoint["formats"] = Json::array({"text/xml", "application/json"});
  Json doc;
  doc["changeset"] = changeset;
  doc["contact"] = options.contact;
  doc["key_service"] = options.key_service;
  doc["endpoints"] = Json::array({std::move(endpoint)});
  Reply(ex, 200, doc, "discovery", "item", "public, max-age=300");
}

void Open311::Impl::Services(const ExchangePtr& ex) {
  if (!NeedRequests(ex)) return;
  auto call =
      std::make_shared<Call<requests_v1::ListServicesRequest, requests_v1::ListServicesResponse>>();
  call->context = Outbound(ex);
  call->request.set_jurisdiction_id(ex->jurisdiction);
  call->request.set_language(ex->language);
  requests->async()->ListServices(
      call->context.get(), &call->request, &call->response, [this, ex, call](grpc::Status status) {
        if (!status.ok()) return FailGrpc(ex, status);
        Json list = Json::array();
        for (const auto& s : call->response.services()) {
          if (s.active()) list.push_back(ServiceObject(s));
        }
        Reply(ex, 200, list, "services", "service", "public, max-age=60");
      });
}

void Open311::Impl::ServiceDefinitionOf(const ExchangePtr& ex, std::string code) {
  if (!NeedRequests(ex)) return;
  auto call = std::make_shared<Call<requests_v1::GetServiceRequest, requests_v1::Service>>();
  call->context = Outbound(ex);
  call->request.set_service_code(std::move(code));
  call->request.set_jurisdiction_id(ex->jurisdiction);
  call->request.set_language(ex->language);
  requests->async()->GetService(call->context.get(), &call->request, &call->response,
                                [this, ex, call](grpc::Status status) {
                                  if (!status.ok()) return FailGrpc(ex, status, true);
                                  if (!call->response.active()) {
                                    return Fail(ex, 404, "service_code: not in the catalogue");
                                  }
                                  Reply(ex, 200, ServiceDefinition(call->response),
                                        "service_definition", "item", "public, max-age=60");
                                });
}

void Open311::Impl::OneRequest(const ExchangePtr& ex, std::string id, bool as_token) {
  if (!infra::IsUlid(id))
    return Fail(ex, 404, as_token ? "token: unknown" : "service_request_id: unknown");
  if (!NeedRequests(ex)) return;
  auto call = std::make_shared<Call<requests_v1::GetRequestRequest, requests_v1::ServiceRequest>>();
  call->context = Outbound(ex);
  call->request.set_request_id(std::move(id));
  call->request.set_language(ex->language);
  requests->async()->GetRequest(
      call->context.get(), &call->request, &call->response,
      [this, ex, call, as_token](grpc::Status status) {
        if (!status.ok()) return FailGrpc(ex, status, true);
        const auto& r = call->response;
        if (r.jurisdiction_id() != ex->jurisdiction) {
          return Fail(ex, 404, "service_request_id: unknown");
        }
        Json list = Json::array();
        if (as_token) {
          list.push_back(Json{{"service_request_id", r.request_id()}, {"token", r.request_id()}});
        } else {
          list.push_back(RequestObject(r));
        }
        Reply(ex, 200, list, "service_requests", "request");
      });
}

}  // namespace cityhub::gateway
