// Open311's POST requests: the partner's api_key, the form, and the request filed in the
// partner's name.
#include "gateway/open311_impl.h"
#include "infra/strings.h"
#include "infra/text.h"

namespace cityhub::gateway {

namespace accounts_v1 = open311::accounts_v1;
namespace requests_v1 = open311::requests_v1;
using open311::Collect;
using open311::Get;
using open311::OrNull;
using open311::ParseDouble;

void Open311::Impl::CreateRequest(const ExchangePtr& ex, std::shared_ptr<const ParsedQuery> form) {
  std::string api_key;
  for (const auto& [name, value] : form->params) {
    if (name == "api_key" && !value.empty()) {
      api_key = value;
      break;
    }
  }
  if (api_key.empty()) return Fail(ex, 403, "api_key: missing; partners get one from the city");
  if (api_key.size() > 128)
    return Fail(ex, 403, "api_key: missing or unknown");  // keys are shorter
  if (accounts == nullptr || !NeedRequests(ex)) {
    if (accounts == nullptr) Fail(ex, 503, "this part of the service is not available");
    return;
  }
  auto check =
      std::make_shared<Call<accounts_v1::CheckApiKeyRequest, accounts_v1::CheckApiKeyResponse>>();
  check->context = Outbound(ex);
  check->request.set_api_key(std::move(api_key));
  accounts->async()->CheckApiKey(
      check->context.get(), &check->request, &check->response,
      [this, ex, check, form](grpc::Status status) {
        if (!status.ok()) return FailGrpc(ex, status);
        // The partner's budget is in Redis: asked without waiting; the rest continues where the
        // answer arrives (it only builds and starts a call).
        std::string api_key_id = check->response.api_key_id();
        gateway.rate_limit().ChargePartner(
            ex->ctx, api_key_id, "too many requests from this partner; slow down",
            [this, ex, form, api_key_id,
             name = check->response.name()](std::optional<HttpResponse> refusal) {
              if (refusal) return Refuse(ex, *std::move(refusal));
              auto create = CreationFromForm(ex, *form);
              if (!create) return;  // answered
              SubmitRequest(ex, std::move(*create), api_key_id, name);
            });
      });
}

std::optional<requests_v1::CreateRequestRequest> Open311::Impl::CreationFromForm(
    const ExchangePtr& ex, const ParsedQuery& form) {
  auto params =
      Collect(form,
              {"jurisdiction_id", "api_key", "service_code", "lat", "long", "address_string",
               "address_id", "zipcode", "email", "device_id", "account_id", "first_name",
               "last_name", "phone", "description", "media_url", "locale"},
              true);
  if (!params.ok()) {
    Fail(ex, 400, infra::StdView(params.status().message()));
    return std::nullopt;
  }
  if (!ResolveJurisdiction(ex, *params) || !ResolveLanguage(ex, *params)) return std::nullopt;
  auto invalid = [&](std::string_view description) {
    Fail(ex, 400, description);
    return std::nullopt;
  };
  requests_v1::CreateRequestRequest create;
  create.set_jurisdiction_id(ex->jurisdiction);
  create.set_language(ex->language);
  create.set_service_code(Get(*params, "service_code"));
  if (create.service_code().empty()) return invalid("service_code: required");
  const std::string lat = Get(*params, "lat"), lon = Get(*params, "long");
  if (lat.empty() != lon.empty()) return invalid("lat: give lat and long together");
  if (!lat.empty()) {
    double v = 0;
    if (!ParseDouble(lat, &v) || v < -90 || v > 90) return invalid("lat: a number from -90 to 90");
    create.set_lat(v);
    if (!ParseDouble(lon, &v) || v < -180 || v > 180)
      return invalid("long: a number from -180 to 180");
    create.set_long_(v);
  }
  create.set_address(Get(*params, "address_string"));
  create.set_address_id(Get(*params, "address_id"));
  if (lat.empty() && infra::TrimAscii(create.address()).empty() && create.address_id().empty()) {
    return invalid("lat: a location is required: lat and long, address_string or address_id");
  }
  create.set_zipcode(Get(*params, "zipcode"));
  create.set_description(Get(*params, "description"));
  create.set_media_url(Get(*params, "media_url"));
  auto attributes = open311::AttributesFromForm(form);
  if (!attributes.ok()) return invalid(infra::StdView(attributes.status().message()));
  if (attributes->fields_size() > 0) *create.mutable_attributes() = std::move(*attributes);
  auto* contact = create.mutable_contact();
  contact->set_email(Get(*params, "email"));
  contact->set_first_name(Get(*params, "first_name"));
  contact->set_last_name(Get(*params, "last_name"));
  contact->set_phone(Get(*params, "phone"));
  contact->set_device_id(Get(*params, "device_id"));
  contact->set_partner_account_id(Get(*params, "account_id"));
  if (contact->ByteSizeLong() == 0) create.clear_contact();
  return create;
}

void Open311::Impl::SubmitRequest(const ExchangePtr& ex, requests_v1::CreateRequestRequest create,
                                  const std::string& api_key_id, const std::string& partner_name) {
  auto call =
      std::make_shared<Call<requests_v1::CreateRequestRequest, requests_v1::ServiceRequest>>();
  call->context = Outbound(ex);
  call->context->AddMetadata("x-cityhub-partner", api_key_id);
  // The key's name, for staff (binary metadata: a name may be any UTF-8 text).
  if (!partner_name.empty()) call->context->AddMetadata("x-cityhub-partner-name-bin", partner_name);
  call->request = std::move(create);
  requests->async()->CreateRequest(
      call->context.get(), &call->request, &call->response, [this, ex, call](grpc::Status status) {
        if (!status.ok()) return FailGrpc(ex, status);
        Json o;
        o["service_request_id"] = call->response.request_id();
        o["service_notice"] = OrNull(call->response.service_notice());
        o["account_id"] = OrNull(call->request.contact().partner_account_id());
        Reply(ex, 201, Json::array({std::move(o)}), "service_requests", "request");
      });
}

}  // namespace cityhub::gateway
