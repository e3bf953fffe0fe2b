#include "infra/grpc/tls.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>

#include "infra/config.h"

namespace cityhub::infra {

GrpcTls LoadGrpcTls(EnvReader& env, bool serves) {
  GrpcTls tls;
  tls.cert_pem = env.Pem("CITYHUB_GRPC_TLS_CERT");
  tls.key_pem = env.Pem("CITYHUB_GRPC_TLS_KEY");
  tls.ca_pem = env.Pem("CITYHUB_GRPC_TLS_CA");
  tls.require_client_cert =
      env.OneOf("CITYHUB_GRPC_TLS_CLIENT_AUTH", "none", {"none", "require"}) == "require";
  const bool any = tls.enabled() || !tls.key_pem.empty();
  if (tls.cert_pem.empty() != tls.key_pem.empty()) {
    env.AddError(tls.cert_pem.empty() ? "CITYHUB_GRPC_TLS_CERT" : "CITYHUB_GRPC_TLS_KEY",
                 "CITYHUB_GRPC_TLS_CERT and CITYHUB_GRPC_TLS_KEY go together");
  }
  if (any && tls.ca_pem.empty()) {
    env.AddError("CITYHUB_GRPC_TLS_CA", "needed with CITYHUB_GRPC_TLS_CERT/_KEY (verifies peers)");
  }
  if (any && serves && tls.cert_pem.empty()) {
    env.AddError("CITYHUB_GRPC_TLS_CERT", "a TLS server needs its certificate and key");
  }
  if (tls.require_client_cert && !any) {
    env.AddError("CITYHUB_GRPC_TLS_CLIENT_AUTH", "require needs TLS (CITYHUB_GRPC_TLS_*)");
  }
  return tls;
}

std::shared_ptr<grpc::ServerCredentials> ServerCredentials(const GrpcTls& tls) {
  if (!tls.enabled()) return grpc::InsecureServerCredentials();
  grpc::SslServerCredentialsOptions options(
      tls.require_client_cert ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
                              : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  options.pem_root_certs = tls.ca_pem;
  options.pem_key_cert_pairs.push_back({tls.key_pem, tls.cert_pem});
  return grpc::SslServerCredentials(options);
}

std::shared_ptr<grpc::ChannelCredentials> ChannelCredentials(const GrpcTls& tls) {
  if (!tls.enabled()) return grpc::InsecureChannelCredentials();
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = tls.ca_pem;
  options.pem_private_key = tls.key_pem;
  options.pem_cert_chain = tls.cert_pem;
  return grpc::SslCredentials(options);
}

std::shared_ptr<grpc::Channel> CreateChannel(const std::string& target, const GrpcTls& tls,
                                             const grpc::ChannelArguments& args) {
  return grpc::CreateCustomChannel(target, ChannelCredentials(tls), args);
}

}  // namespace cityhub::infra
