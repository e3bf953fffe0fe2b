#pragma once

#include <memory>
#include <string>

#include <grpcpp/channel.h>
#include <grpcpp/support/channel_arguments.h>

namespace grpc {
class ChannelCredentials;
class ServerCredentials;
}  // namespace grpc

namespace cityhub::infra {

class EnvReader;

// TLS between cityhub's processes (gateway → services, service → service). Off when all three
// PEMs are empty: plaintext, for the local stack and tests.
struct GrpcTls {
  // This process's certificate chain and key: servers present them; clients present them when
  // the servers require client certificates.
  std::string cert_pem;
  std::string key_pem;
  // Certificates that may sign the peer's (servers' for clients, clients' for servers).
  std::string ca_pem;
  // Servers refuse clients without a certificate signed by `ca_pem` (mutual TLS).
  bool require_client_cert = false;

  bool enabled() const { return !ca_pem.empty() || !cert_pem.empty(); }
};

// Reads CITYHUB_GRPC_TLS_CERT, CITYHUB_GRPC_TLS_KEY, CITYHUB_GRPC_TLS_CA (file paths) and
// CITYHUB_GRPC_TLS_CLIENT_AUTH (`none` or `require`). Half a configuration is an error recorded
// in `env`: any of them set needs the CA; a certificate needs its key; a process that serves
// (`serves`) needs certificate and key; `require` needs TLS.
GrpcTls LoadGrpcTls(EnvReader& env, bool serves);

// Insecure when TLS is off.
std::shared_ptr<grpc::ServerCredentials> ServerCredentials(const GrpcTls& tls);
std::shared_ptr<grpc::ChannelCredentials> ChannelCredentials(const GrpcTls& tls);

// The one way cityhub's processes dial each other: TLS per `tls` (the server's certificate must
// name the host of `target`, e.g. DNS:accounts or IP:127.0.0.1).
std::shared_ptr<grpc::Channel> CreateChannel(const std::string& target, const GrpcTls& tls,
                                             const grpc::ChannelArguments& args = {});

}  // namespace cityhub::infra
