#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "gateway/backends.h"
#include "gateway/gateway.h"
#include "infra/clock.h"

// Open311 GeoReport v2 under /open311/v2/, mapped onto the requests service (and the accounts
// service for partner api_keys): discovery, services, services/{code}, requests (GET, POST),
// requests/{id} and tokens/{token}, each as .json and .xml. Only public data goes out: calls go
// to the services without the caller's identity, so they answer with the public view.
namespace cityhub::gateway {

struct Open311Options {
  // The jurisdictions served; the first is the default. With more than one, jurisdiction_id
  // is required.
  std::vector<std::string> jurisdictions = {"bielefeld.de"};
  std::string public_url = "http://127.0.0.1:8080";
  // Shown in discovery.
  std::string contact = "Digitalisierungsbüro";
  std::string key_service = "API keys for partners are issued by the city's administrators.";
  // When the endpoint last changed (discovery's changeset), Unix milliseconds.
  int64_t changeset_ms = 0;
};

class Open311 final {
 public:
  static constexpr char kPrefix[] = "/open311/v2/";

  // Its answers and refusals go out through `gateway` (and its filters); its rate limits are
  // the gateway's (RateLimitFilter).
  Open311(Gateway& gateway, Backends& backends, Open311Options options);
  ~Open311();
  Open311(const Open311&) = delete;
  Open311& operator=(const Open311&) = delete;

  // Names a request under kPrefix for the filters: its route label, and for a known resource
  // and method the policy they guard it with (public; the read budget for GET, the write
  // budget for POST, per address: Open311 calls the services without the caller's identity).
  // Refusals come in GeoReport format.
  void Classify(const HttpRequest& request, RequestContext& context) const;
  // Answers every path under kPrefix (404 for unknown ones) once the filters let it pass.
  void Handle(const HttpRequest& request, const RequestContext& context,
              std::shared_ptr<Responder> responder);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cityhub::gateway
