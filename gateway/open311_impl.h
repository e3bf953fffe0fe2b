#pragma once

// The parts of the Open311 adapter (open311.h), shared by its files: one exchange, the checked
// parameters, the GeoReport views of the services' messages, and the adapter's state (Impl).
// Included by gateway/open311*.cc only.
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include <grpcpp/client_context.h>
#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "cityhub/accounts/v1/accounts.grpc.pb.h"
#include "cityhub/requests/v1/requests.grpc.pb.h"
#include "gateway/open311.h"
#include "gateway/open311_format.h"
#include "gateway/transcode.h"

namespace cityhub::gateway::open311 {

using Json = nlohmann::ordered_json;
namespace accounts_v1 = cityhub::accounts::v1;
namespace requests_v1 = cityhub::requests::v1;

// One Open311 exchange: what the callbacks need after Handle returned.
struct Exchange {
  HttpRequest request;  // without the body
  RequestContext ctx;
  std::shared_ptr<Responder> responder;
  Format format = Format::kJson;
  std::string language = "de";
  std::string jurisdiction;
};
using ExchangePtr = std::shared_ptr<Exchange>;

// The single-valued parameters of a call, checked against what the resource takes.
using Params = std::map<std::string, std::string, std::less<>>;

// A form (POST, `attributes`) must hold only fields the resource takes: a misspelt field would
// drop what a resident wrote. In a query, parameters the resource does not take are ignored, as
// grpc-gateway does: real clients send the spec's extensions (lat, long, radius, extensions…),
// and refusing them broke those clients. Known ones are checked where they are read.
absl::StatusOr<Params> Collect(const ParsedQuery& given, const std::set<std::string_view>& allowed,
                               bool attributes);
std::string Get(const Params& params, std::string_view name);
bool ParseDouble(std::string_view text, double* out);
bool ParseInt(std::string_view text, int* out);

// A request as GeoReport v2 shows it; private fields (owner, contact, internal notes) are not
// in the public view the service answered with, and are not read here either.
Json RequestObject(const requests_v1::ServiceRequest& r);
// The `extended_attributes` of a request (extensions=true, #15): its district and public status
// history [{status, changed_at, note}] (the API's status names, public notes only).
Json ExtendedAttributes(const requests_v1::ServiceRequest& r);
Json ServiceObject(const requests_v1::Service& s);
Json ServiceDefinition(const requests_v1::Service& s);
Json OrNull(const std::string& text);

// GeoReport errors (`[{"code": 404, "description": "..."}]` or its XML) for the filters' refusals
// and the adapter's own.
class GeoReportErrors final : public ErrorFormat {
 public:
  explicit GeoReportErrors(Format format) : format_(format) {}
  HttpResponse Error(int status, grpc::StatusCode code, std::string_view message) const override;

 private:
  Format format_;
};

// A unary call's context and messages, kept alive until its callback ran.
template <typename Request, typename Response>
struct Call {
  std::unique_ptr<grpc::ClientContext> context;
  Request request;
  Response response;
};

}  // namespace cityhub::gateway::open311

namespace cityhub::gateway {

struct Open311::Impl {
  using ExchangePtr = open311::ExchangePtr;
  using Json = open311::Json;
  using Params = open311::Params;
  template <typename Request, typename Response>
  using Call = open311::Call<Request, Response>;

  Gateway& gateway;
  Open311Options options;
  // What the filters guard a known resource with (Classify).
  cityhub::api::Policy read_policy;
  cityhub::api::Policy write_policy;
  open311::GeoReportErrors json_errors{open311::Format::kJson};
  open311::GeoReportErrors xml_errors{open311::Format::kXml};
  std::unique_ptr<open311::requests_v1::RequestsService::Stub> requests;
  std::unique_ptr<open311::accounts_v1::AccountsService::Stub> accounts;

  Impl(Gateway& g, Backends& backends, Open311Options o);
  const open311::GeoReportErrors& ErrorsIn(open311::Format format) const {
    return format == open311::Format::kXml ? xml_errors : json_errors;
  }
  // Sends a refusal of the filters (RateLimitFilter::ChargeMore, ChargePartner).
  void Refuse(const open311::ExchangePtr& ex, HttpResponse refusal);
  void Reply(const open311::ExchangePtr& ex, int status, const open311::Json& doc,
             std::string_view root, std::string_view item, std::string_view cache_control = "");
  void Fail(const open311::ExchangePtr& ex, int status, std::string_view description,
            std::vector<std::pair<std::string, std::string>> headers = {});
  // The spec knows 400, 403 and 404; the rest keeps its HTTP meaning (429, 503, 500).
  void FailGrpc(const open311::ExchangePtr& ex, const grpc::Status& status,
                bool invalid_is_unknown = false);
  std::unique_ptr<grpc::ClientContext> Outbound(const open311::ExchangePtr& ex) const;
  // jurisdiction_id: required when several are served (unless `required` is false: discovery
  // describes the endpoint, which serves them all); unknown ones are not found.
  bool ResolveJurisdiction(const open311::ExchangePtr& ex, const open311::Params& params,
                           bool required = true);
  // locale: "de" or "en" (a region such as "en_GB" or "de-DE" is allowed and ignored).
  bool ResolveLanguage(const open311::ExchangePtr& ex, const open311::Params& params);
  bool NeedRequests(const open311::ExchangePtr& ex);
  void Discovery(const open311::ExchangePtr& ex);
  void Services(const open311::ExchangePtr& ex);
  void ServiceDefinitionOf(const open311::ExchangePtr& ex, std::string code);
  // requests/{id} and tokens/{token}: requests are created at once, so a token is the id.
  void OneRequest(const open311::ExchangePtr& ex, std::string id, bool as_token);
  struct Listing {
    open311::ExchangePtr ex;
    open311::requests_v1::ListRequestsRequest query;
    int skip = 0;
    int want = 0;
    bool extended = false;  // extensions=true: each request with its extended_attributes
    open311::Json out = open311::Json::array();
  };
  void ListRequests(const open311::ExchangePtr& ex, const open311::Params& params);
  // The #15 extensions of GET requests (lat, long, radius, district, extensions) into
  // `listing`; false once a 400 went out (open311_list.cc).
  bool ParseExtensions(const open311::ExchangePtr& ex, const open311::Params& params,
                       Listing* listing);
  // Walks the service's cursor pages (at most 100 each) until the Open311 page is full.
  void NextPage(const std::shared_ptr<Listing>& listing);
  // POST requests: the partner's api_key is checked before anything else in the form, so
  // that a caller without a valid key learns nothing about what a valid form looks like.
  void CreateRequest(const open311::ExchangePtr& ex, std::shared_ptr<const ParsedQuery> form);
  // The creation call a checked form asks for, or nullopt once a 400 went out.
  std::optional<open311::requests_v1::CreateRequestRequest> CreationFromForm(
      const open311::ExchangePtr& ex, const ParsedQuery& form);
  // Files the request in the partner's name (the key's id, and its name for staff).
  void SubmitRequest(const open311::ExchangePtr& ex,
                     open311::requests_v1::CreateRequestRequest create,
                     const std::string& api_key_id, const std::string& partner_name);
};

}  // namespace cityhub::gateway
