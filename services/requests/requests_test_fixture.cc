#include "services/requests/requests_test_fixture.h"

#include <fstream>
#include <sstream>

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include "tests/harness/process.h"

namespace cityhub::requests {

namespace v1 = cityhub::requests::v1;
using namespace std::chrono_literals;

void RequestsServiceTest::SetUp() {
  RedisTest::SetUp();
  clock_ = std::make_unique<infra::ManualClock>(std::chrono::system_clock::now());
  signer_ = std::make_unique<infra::auth::TokenSigner>(infra::auth::Ed25519Key::Generate(),
                                                       infra::auth::TokenSettings{}, *clock_);
  verifier_ = std::make_unique<infra::auth::TokenVerifier>(infra::auth::TokenSettings{}, *clock_);
  std::vector<infra::auth::Ed25519Key> keys;
  keys.push_back(infra::auth::Ed25519Key::FromPublicBytes(signer_->key().public_bytes()).value());
  verifier_->SetKeys(std::move(keys));
  authorizer_ = std::make_unique<infra::auth::Authorizer>(v1::RequestsService::service_full_name(),
                                                          *verifier_, kInternal, refresh_keys_);
  deleted_ = std::make_unique<infra::auth::DeletedAccounts>(client(), kDeletedAccountsArea);
  authorizer_->set_deleted_accounts(deleted_.get());
  async_ = std::make_unique<infra::redis::AsyncClient>(redis().ClientOptions(), 2);
  media_dir_ = cityhub::testing::MakeTempDir("cityhub-media");
  settings_.public_base_url = "https://api.example";
  graph_ = std::make_unique<infra::Components>();
  RequestsOptions parts_options;
  parts_options.settings = settings_;
  parts_options.media_dir = media_dir_;
  parts_options.catalogue_ttl = catalogue_ttl_;
  parts_options.executor = executor_options_;
  parts_options.server.drain_delay = 0ms;
  parts_options.server.grace = 1s;
  parts_options.server.max_receive_message_bytes = 12 * 1024 * 1024;
  // The tests seed the catalogue themselves, and move geo data only when they say so.
  StartPeers();
  RequestsParts parts = AddRequestsComponents(
      *graph_, {client(), *async_, *authorizer_, *clock_, metrics_, accounts_channel_, kInternal},
      std::move(parts_options), {});
  requests_ = &parts.requests;
  catalogue_store_ = &parts.catalogue_store;
  catalogue_ = &parts.catalogue;
  media_ = &parts.media;
  service_ = &parts.service;
  server_ = &parts.server;
  std::ifstream in(cityhub::testing::SourcePath("services/requests/catalogue/bielefeld.json"));
  std::stringstream seed;
  seed << in.rdbuf();
  auto seeded = service_->SeedCatalogue(seed.str(), "bielefeld.de");
  ASSERT_TRUE(seeded.ok()) << seeded.status();
  ASSERT_EQ(*seeded, 8);
  ASSERT_TRUE(server_->Start().ok());
  graph_->StartWorkers();
  grpc::ChannelArguments args;
  args.SetMaxSendMessageSize(12 * 1024 * 1024);
  stub_ = v1::RequestsService::NewStub(grpc::CreateCustomChannel(
      "127.0.0.1:" + std::to_string(server_->port()), grpc::InsecureChannelCredentials(), args));
}

void RequestsServiceTest::TearDown() {
  graph_.reset();  // the server first, then the parts it serves
  async_.reset();
  cityhub::testing::RemoveTree(media_dir_);
}

std::string RequestsServiceTest::Token(const Who& who) const {
  infra::auth::AccessClaims claims;
  claims.subject = who.account_id;
  claims.roles = who.roles;
  claims.departments = who.departments;
  claims.email_verified = who.verified;
  return signer_->Sign(claims);
}

std::unique_ptr<grpc::ClientContext> RequestsServiceTest::Ctx(const Who& who) const {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + 30s);
  if (!who.account_id.empty()) ctx->AddMetadata("authorization", "Bearer " + Token(who));
  return ctx;
}

std::unique_ptr<grpc::ClientContext> RequestsServiceTest::Internal() const {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + 30s);
  ctx->AddMetadata("x-cityhub-internal", kInternal);
  return ctx;
}

v1::CreateRequestRequest RequestsServiceTest::NewRequest(const std::string& service_code,
                                                         double lat, double lon) const {
  v1::CreateRequestRequest req;
  req.set_service_code(service_code);
  req.set_lat(lat);
  req.set_long_(lon);
  req.set_description("Seit drei Tagen dunkel.");
  auto& fields = *req.mutable_attributes()->mutable_fields();
  if (service_code == "streetlight") fields["problem"].set_string_value("dark");
  if (service_code == "pothole") fields["surface"].set_string_value("road");
  if (service_code == "illegal_dumping") {
    fields["waste_types"].mutable_list_value()->add_values()->set_string_value("bulky");
  }
  if (service_code == "graffiti") fields["offensive"].set_string_value("no");
  if (service_code == "damaged_sign" || service_code == "tree") {
    fields["problem"].set_string_value(service_code == "tree" ? "branch" : "down");
  }
  if (service_code == "playground") {
    fields["hazard"].mutable_list_value()->add_values()->set_string_value("glass");
  }
  return req;
}

v1::ServiceRequest RequestsServiceTest::File(const Who& who, const v1::CreateRequestRequest& req) {
  v1::ServiceRequest out;
  const grpc::Status s = stub_->CreateRequest(Ctx(who).get(), req, &out);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return out;
}

v1::ServiceRequest RequestsServiceTest::Get(const Who& who, const std::string& id) {
  v1::GetRequestRequest get;
  get.set_request_id(id);
  v1::ServiceRequest out;
  const grpc::Status s = stub_->GetRequest(Ctx(who).get(), get, &out);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return out;
}

std::vector<cityhub::events::v1::Event> RequestsServiceTest::Events() {
  std::vector<cityhub::events::v1::Event> out;
  auto reply = client().Command({"XRANGE", kEventsStream, "-", "+"});
  EXPECT_TRUE(reply.ok()) << reply.status();
  if (!reply.ok()) return out;
  for (const auto& entry : reply->elements()) {
    const auto& fields = entry.elements()[1].elements();
    for (size_t i = 0; i + 1 < fields.size(); i += 2) {
      if (fields[i].str() == "event") out.emplace_back().ParseFromString(fields[i + 1].str());
    }
  }
  return out;
}

}  // namespace cityhub::requests
