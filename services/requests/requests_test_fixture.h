#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/client_context.h>

#include "infra/auth/authorizer.h"
#include "infra/auth/jwt.h"
#include "infra/grpc/server.h"
#include "services/requests/components.h"
#include "tests/harness/redis_server.h"

namespace cityhub::requests {

// A caller of the tests, turned into a signed access token.
struct Who {
  std::string account_id;
  std::vector<std::string> roles;
  std::vector<std::string> departments;
  bool verified = true;
};

// The callers most suites use: two residents, operators of two departments, an admin, and an
// anonymous caller.
inline const Who kAnna = {"01JANNA0000000000000000000", {"citizen"}, {}, true};
inline const Who kBen = {"01JBEN00000000000000000000", {"citizen"}, {}, true};
inline const Who kLights = {
    "01JLIGHTS00000000000000000", {"citizen", "operator"}, {"street-lighting"}, true};
inline const Who kParks = {"01JPARKS000000000000000000", {"citizen", "operator"}, {"parks"}, true};
inline const Who kAdmin = {"01JADMIN000000000000000000", {"citizen", "admin"}, {}, true};
inline const Who kNobody = {};

// The requests service on a real gRPC server over the suite's real Redis, with the default
// Bielefeld catalogue, a settable clock and tokens minted by the test.
class RequestsServiceTest : public cityhub::testing::RedisTest {
 protected:
  static constexpr char kInternal[] = "internal-secret-for-tests";

  void SetUp() override;
  void TearDown() override;

  // Some callers.
  static Who Resident(const std::string& id) { return {id, {"citizen"}, {}, true}; }
  static Who Operator(const std::string& id, const std::string& department) {
    return {id, {"citizen", "operator"}, {department}, true};
  }
  static Who Admin(const std::string& id) { return {id, {"citizen", "admin"}, {}, true}; }

  std::string Token(const Who& who) const;
  // A call context, signed in as `who` unless its account id is empty.
  std::unique_ptr<grpc::ClientContext> Ctx(const Who& who) const;
  std::unique_ptr<grpc::ClientContext> Ctx() const { return Ctx(Who{}); }
  std::unique_ptr<grpc::ClientContext> Internal() const;

  // A request for `service_code` at a point, valid for the default catalogue's attributes.
  cityhub::requests::v1::CreateRequestRequest NewRequest(const std::string& service_code,
                                                         double lat = 52.0211,
                                                         double lon = 8.5325) const;
  // Files `req` as `who`; fails the test on error.
  cityhub::requests::v1::ServiceRequest File(
      const Who& who, const cityhub::requests::v1::CreateRequestRequest& req);
  // The request `id` as `who` sees it; fails the test on error.
  cityhub::requests::v1::ServiceRequest Get(const Who& who, const std::string& id);
  // Every event on the service's event stream (kEventsStream), in order.
  std::vector<cityhub::events::v1::Event> Events();

  // Starts what the service talks to (a suite's accounts service), before the service is
  // built; may set accounts_channel_.
  virtual void StartPeers() {}
  // The accounts service the requests service asks (null: none).
  std::shared_ptr<grpc::Channel> accounts_channel_;

  // The service's settings; a suite may change them before calling this SetUp.
  RequestsSettings settings_;
  infra::ExecutorOptions executor_options_{"requests", 8, 256};
  // 0: every read of the catalogue goes to Redis, so tests see changes at once.
  std::chrono::milliseconds catalogue_ttl_{0};
  // What the authorizer calls for tokens of unknown keys (none: no key rotation).
  std::function<bool()> refresh_keys_;
  std::unique_ptr<infra::ManualClock> clock_;
  std::unique_ptr<infra::auth::TokenSigner> signer_;
  std::unique_ptr<infra::auth::TokenVerifier> verifier_;
  std::unique_ptr<infra::auth::Authorizer> authorizer_;
  std::unique_ptr<infra::auth::DeletedAccounts> deleted_;
  std::unique_ptr<infra::redis::AsyncClient> async_;
  infra::MetricsRegistry metrics_;  // before the graph: its executor's metrics live here
  // The service's parts (components.h), owned by graph_.
  std::unique_ptr<infra::Components> graph_;
  RequestStore* requests_ = nullptr;
  CatalogueStore* catalogue_store_ = nullptr;
  Catalogue* catalogue_ = nullptr;
  MediaStore* media_ = nullptr;
  RequestsService* service_ = nullptr;
  infra::GrpcServer* server_ = nullptr;
  std::unique_ptr<cityhub::requests::v1::RequestsService::Stub> stub_;
  std::string media_dir_;
};

}  // namespace cityhub::requests
