// TLS between cityhub's gRPC processes (infra/grpc/tls.h): a real server and real clients over
// loopback, certificates from a throwaway CA; and the settings that switch it on.
#include <gmock/gmock.h>
#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>
#include <gtest/gtest.h>

#include "grpc/health/v1/health.grpc.pb.h"
#include "infra/config.h"
#include "infra/grpc/server.h"
#include "infra/grpc/tls.h"
#include "infra/service_config.h"
#include "tests/harness/process.h"
#include "tests/tls/pki.h"

namespace cityhub::testing {
namespace {

using ::testing::HasSubstr;

class GrpcTlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { pki_ = new Pki(MakePki()); }
  static void TearDownTestSuite() {
    RemoveTree(pki_->dir);
    delete pki_;
  }

  // A server (health service only) with TLS per `tls`.
  void Serve(infra::GrpcTls tls) {
    infra::ServerOptions options;
    options.service_name = "tls";
    options.drain_delay = std::chrono::milliseconds(0);
    options.tls = std::move(tls);
    server_ = std::make_unique<infra::GrpcServer>(options, metrics_);
    ASSERT_TRUE(server_->Start().ok());
  }

  static infra::GrpcTls ServerTls(bool require_client_cert = false) {
    return {pki_->Read("server.pem"), pki_->Read("server.key"), pki_->Read("ca.pem"),
            require_client_cert};
  }

  // A client that trusts the CA in file `ca` and has no certificate of its own.
  static infra::GrpcTls TrustOnly(const std::string& ca) {
    infra::GrpcTls tls;
    tls.ca_pem = pki_->Read(ca);
    return tls;
  }

  // The health check's status over a channel with `tls` to `host`:port.
  grpc::Status Check(const infra::GrpcTls& tls, const std::string& host = "127.0.0.1") {
    auto channel = infra::CreateChannel(host + ":" + std::to_string(server_->port()), tls);
    auto stub = grpc::health::v1::Health::NewStub(channel);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    grpc::health::v1::HealthCheckRequest request;
    grpc::health::v1::HealthCheckResponse response;
    return stub->Check(&ctx, request, &response);
  }

  static Pki* pki_;
  infra::MetricsRegistry metrics_;
  std::unique_ptr<infra::GrpcServer> server_;
};

Pki* GrpcTlsTest::pki_ = nullptr;

TEST_F(GrpcTlsTest, ClientTrustingTheCaReachesTlsServer) {
  Serve(ServerTls());
  EXPECT_TRUE(Check(TrustOnly("ca.pem")).ok());
  EXPECT_TRUE(Check(TrustOnly("ca.pem"), "localhost").ok());
}

TEST_F(GrpcTlsTest, PlaintextClientCannotTalkToTlsServer) {
  Serve(ServerTls());
  EXPECT_EQ(Check({}).error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(GrpcTlsTest, ClientRefusesServerSignedByAnotherCa) {
  Serve(ServerTls());
  EXPECT_EQ(Check(TrustOnly("other-ca.pem")).error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(GrpcTlsTest, MutualTlsRefusesClientWithoutCertificate) {
  Serve(ServerTls(/*require_client_cert=*/true));
  EXPECT_FALSE(Check(TrustOnly("ca.pem")).ok());
  EXPECT_TRUE(
      Check({pki_->Read("client.pem"), pki_->Read("client.key"), pki_->Read("ca.pem")}).ok());
  // The services present their own (server and client) certificate to each other.
  EXPECT_TRUE(Check(ServerTls()).ok());
}

TEST_F(GrpcTlsTest, PlaintextByDefault) {
  infra::EnvReader env(std::map<std::string, std::string>{});
  infra::GrpcTls tls = infra::LoadGrpcTls(env, /*serves=*/true);
  EXPECT_TRUE(env.Finish().ok());
  EXPECT_FALSE(tls.enabled());
  Serve(tls);
  EXPECT_TRUE(Check(tls).ok());
}

TEST_F(GrpcTlsTest, SettingsReadFromFiles) {
  infra::EnvReader env(
      std::map<std::string, std::string>{{"CITYHUB_GRPC_TLS_CERT", pki_->Path("server.pem")},
                                         {"CITYHUB_GRPC_TLS_KEY", pki_->Path("server.key")},
                                         {"CITYHUB_GRPC_TLS_CA", pki_->Path("ca.pem")},
                                         {"CITYHUB_GRPC_TLS_CLIENT_AUTH", "require"}});
  infra::GrpcTls tls = infra::LoadGrpcTls(env, /*serves=*/true);
  ASSERT_TRUE(env.Finish().ok()) << env.Finish();
  EXPECT_TRUE(tls.enabled());
  EXPECT_TRUE(tls.require_client_cert);
  Serve(tls);
  EXPECT_TRUE(Check(tls).ok());
}

TEST_F(GrpcTlsTest, HalfConfigurationNamesWhatIsMissing) {
  {
    infra::EnvReader env(
        std::map<std::string, std::string>{{"CITYHUB_GRPC_TLS_CERT", pki_->Path("server.pem")}});
    infra::LoadGrpcTls(env, /*serves=*/true);
    const std::string message(env.Finish().message());
    EXPECT_THAT(message, HasSubstr("CITYHUB_GRPC_TLS_KEY"));
    EXPECT_THAT(message, HasSubstr("CITYHUB_GRPC_TLS_CA"));
  }
  {
    // A server needs its own certificate; a client (the gateway) may do with the CA.
    infra::EnvReader server_env(
        std::map<std::string, std::string>{{"CITYHUB_GRPC_TLS_CA", pki_->Path("ca.pem")}});
    infra::LoadGrpcTls(server_env, /*serves=*/true);
    EXPECT_THAT(std::string(server_env.Finish().message()), HasSubstr("CITYHUB_GRPC_TLS_CERT"));
    infra::EnvReader client_env(
        std::map<std::string, std::string>{{"CITYHUB_GRPC_TLS_CA", pki_->Path("ca.pem")}});
    EXPECT_TRUE(infra::LoadGrpcTls(client_env, /*serves=*/false).enabled());
    EXPECT_TRUE(client_env.Finish().ok());
  }
  {
    infra::EnvReader env(
        std::map<std::string, std::string>{{"CITYHUB_GRPC_TLS_CLIENT_AUTH", "require"}});
    infra::LoadGrpcTls(env, /*serves=*/false);
    EXPECT_THAT(std::string(env.Finish().message()), HasSubstr("CITYHUB_GRPC_TLS_CLIENT_AUTH"));
  }
  {
    infra::EnvReader env(
        std::map<std::string, std::string>{{"CITYHUB_GRPC_TLS_CA", "/nonexistent/ca.pem"}});
    infra::LoadGrpcTls(env, /*serves=*/false);
    EXPECT_THAT(std::string(env.Finish().message()), HasSubstr("CITYHUB_GRPC_TLS_CA"));
  }
}

TEST_F(GrpcTlsTest, ServicesReadTheSettingsWithTheirCommonConfig) {
  infra::EnvReader env(
      std::map<std::string, std::string>{{"CITYHUB_GRPC_TLS_CA", pki_->Path("ca.pem")}});
  infra::LoadCommonConfig(env, {"accounts", "127.0.0.1:0", "off"});
  EXPECT_THAT(std::string(env.Finish().message()), HasSubstr("CITYHUB_GRPC_TLS_CERT"));
}

// Redis's TLS settings are checked when read, not at the first connection.
TEST_F(GrpcTlsTest, RedisTlsSettingsAreChecked) {
  {
    infra::EnvReader env(
        std::map<std::string, std::string>{{"CITYHUB_REDIS_URL", "redis://127.0.0.1:6379"},
                                           {"CITYHUB_REDIS_TLS_CA", pki_->Path("ca.pem")}});
    infra::LoadRedisOptions(env, "CITYHUB_X_REDIS_URL");
    EXPECT_THAT(std::string(env.Finish().message()), HasSubstr("must be rediss://"));
  }
  {
    infra::EnvReader env(
        std::map<std::string, std::string>{{"CITYHUB_REDIS_URL", "rediss://127.0.0.1:6379"},
                                           {"CITYHUB_REDIS_TLS_CA", pki_->Path("server.key")}});
    infra::LoadRedisOptions(env, "CITYHUB_X_REDIS_URL");
    EXPECT_THAT(std::string(env.Finish().message()), HasSubstr("CITYHUB_REDIS_TLS_CA"));
  }
  {
    infra::EnvReader env(
        std::map<std::string, std::string>{{"CITYHUB_REDIS_URL", "rediss://127.0.0.1:6379"},
                                           {"CITYHUB_REDIS_TLS_CA", pki_->Path("ca.pem")},
                                           {"CITYHUB_REDIS_TLS_CERT", pki_->Path("client.pem")},
                                           {"CITYHUB_REDIS_TLS_KEY", pki_->Path("server.key")}});
    infra::LoadRedisOptions(env, "CITYHUB_X_REDIS_URL");
    EXPECT_THAT(std::string(env.Finish().message()), HasSubstr("client key"));
  }
  {
    infra::EnvReader env(
        std::map<std::string, std::string>{{"CITYHUB_X_REDIS_URL", "rediss://app@redis:6380/2"},
                                           {"CITYHUB_REDIS_USER", "accounts"},
                                           {"CITYHUB_REDIS_TLS_CA", pki_->Path("ca.pem")}});
    infra::redis::Options options = infra::LoadRedisOptions(env, "CITYHUB_X_REDIS_URL");
    ASSERT_TRUE(env.Finish().ok()) << env.Finish();
    EXPECT_TRUE(options.tls);
    EXPECT_EQ(options.user, "accounts");
    EXPECT_EQ(options.host, "redis");
    EXPECT_EQ(options.port, 6380);
    EXPECT_EQ(options.db, 2);
    EXPECT_EQ(options.tls_files.ca_pem, pki_->Read("ca.pem"));
  }
}

}  // namespace
}  // namespace cityhub::testing
