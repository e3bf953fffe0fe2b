#pragma once

// The fixture of the issue 14 tests (requests_moves_test.cc, requests_queue_test.cc): the
// requests service with the real accounts service it asks who an assignee is.
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/create_channel.h>
#include <gtest/gtest.h>

#include "infra/ids.h"
#include "services/accounts/accounts_service.h"
#include "services/requests/keys.h"
#include "services/requests/requests_test_fixture.h"

namespace cityhub::requests::moves_testing {

namespace v1 = cityhub::requests::v1;
using namespace std::chrono_literals;

class MovesTest : public RequestsServiceTest {
 protected:
  // The accounts service, for real GetContact calls (who an assignee is).
  void StartPeers() override {
    account_store_ = std::make_unique<accounts::AccountStore>(client());
    sessions_ = std::make_unique<accounts::SessionStore>(client());
    throttle_ = std::make_unique<accounts::ThrottleStore>(client(), accounts::ThrottlePolicy{});
    api_keys_ = std::make_unique<accounts::ApiKeyStore>(client());
    hasher_ = std::make_unique<accounts::PasswordHasher>(accounts::Argon2Params{}, 1, 10s);
    accounts_authorizer_ = std::make_unique<infra::auth::Authorizer>(
        cityhub::accounts::v1::AccountsService::service_full_name(), *verifier_, kInternal);
    accounts_ = std::make_unique<accounts::AccountsService>(
        accounts::AccountsDeps{*account_store_, *sessions_, *throttle_, *api_keys_, *hasher_,
                               *signer_, jwks_, *accounts_authorizer_, *clock_, nullptr, nullptr,
                               accounts_metrics_},
        accounts::AccountsSettings{});
    infra::ServerOptions options;
    options.drain_delay = 0ms;
    options.grace = 1s;
    accounts_server_ = std::make_unique<infra::GrpcServer>(options, accounts_registry_);
    accounts_server_->AddService(accounts_.get());
    ASSERT_TRUE(accounts_server_->Start().ok());
    accounts_channel_ = grpc::CreateChannel("127.0.0.1:" + std::to_string(accounts_server_->port()),
                                            grpc::InsecureChannelCredentials());
  }
  void SetUp() override {
    RequestsServiceTest::SetUp();
    lights_ = Account("Lina Licht", {"citizen", "operator"}, {"street-lighting"});
    lights2_ = Account("Lutz Lampe", {"citizen", "operator"}, {"street-lighting"});
    roads_ = Account("Rita Strasse", {"citizen", "operator"}, {"roads"});
    admin_ = Account("Ada Admin", {"citizen", "admin"}, {});
  }
  void TearDown() override {
    RequestsServiceTest::TearDown();
    accounts_server_.reset();
  }

  // An account in the accounts service, and the caller it is.
  Who Account(const std::string& name, std::vector<std::string> roles,
              std::vector<std::string> departments, bool verified = true) {
    accounts::StoredAccount a;
    a.id = infra::NewUlid(*clock_);
    a.email = infra::HexEncode(infra::RandomBytes(4)) + "@stadt.example";
    a.email_key = a.email;
    a.display_name = name;
    a.password_hash = "x";
    a.roles = roles;
    a.departments = departments;
    a.verified = verified;
    EXPECT_TRUE(account_store_
                    ->Create(a, infra::HexEncode(infra::RandomBytes(8)), 1h,
                             infra::UnixMillis(clock_->Now()), {})
                    .ok());
    return {a.id, std::move(roles), std::move(departments), verified};
  }

  grpc::Status Reroute(const Who& who, const std::string& id, const std::string& code,
                       v1::ServiceRequest* out, const std::string& internal_note = "") {
    v1::RerouteRequestRequest req;
    req.set_request_id(id);
    req.set_service_code(code);
    req.set_public_note("An das Tiefbauamt weitergegeben.");
    req.set_internal_note(internal_note);
    if (code == "damaged_sign") {
      (*req.mutable_attributes()->mutable_fields())["problem"].set_string_value("down");
    }
    return stub_->RerouteRequest(Ctx(who).get(), req, out);
  }
  grpc::Status Assign(const Who& who, const std::string& id, const std::string& assignee,
                      v1::ServiceRequest* out) {
    v1::AssignRequestRequest req;
    req.set_request_id(id);
    req.set_assignee_account_id(assignee);
    return stub_->AssignRequest(Ctx(who).get(), req, out);
  }
  std::vector<std::string> ListIds(const Who& who, const v1::ListRequestsRequest& req,
                                   grpc::Status* status = nullptr) {
    v1::ListRequestsResponse res;
    const grpc::Status s = stub_->ListRequests(Ctx(who).get(), req, &res);
    if (status != nullptr) *status = s;
    if (status == nullptr) {
      EXPECT_TRUE(s.ok()) << s.error_message();
    }
    std::vector<std::string> ids;
    for (const auto& r : res.requests()) ids.push_back(r.request_id());
    return ids;
  }
  bool InIndex(const std::string& key, const std::string& id) {
    auto score = client().Command({"ZSCORE", key, id});
    return score.ok() && !score->is_nil();
  }

  Who lights_, lights2_, roads_, admin_;
  infra::MetricsRegistry accounts_registry_;
  accounts::AccountsMetrics accounts_metrics_{accounts_registry_};
  cityhub::accounts::v1::Jwks jwks_;
  std::unique_ptr<accounts::AccountStore> account_store_;
  std::unique_ptr<accounts::SessionStore> sessions_;
  std::unique_ptr<accounts::ThrottleStore> throttle_;
  std::unique_ptr<accounts::ApiKeyStore> api_keys_;
  std::unique_ptr<accounts::PasswordHasher> hasher_;
  std::unique_ptr<infra::auth::Authorizer> accounts_authorizer_;
  std::unique_ptr<accounts::AccountsService> accounts_;
  std::unique_ptr<infra::GrpcServer> accounts_server_;
};

}  // namespace cityhub::requests::moves_testing
