#pragma once

#include <map>
#include <memory>
#include <string>

#include "tests/harness/process.h"
#include "tests/harness/redis_server.h"
#include "tests/harness/sinks.h"

namespace cityhub::testing {

// The whole system as separate processes on free loopback ports: a real redis-server, the
// accounts, requests and notifications binaries, the gateway, an SMTP sink and an HTTP receiver
// for push messages. Everything is stopped and removed when the Stack goes away.
class Stack final {
 public:
  struct Options {
    bool notifications = true;
    bool gateway = true;
    // Extra environment for every process (e.g. rate limits, timeouts).
    std::map<std::string, std::string> env;
    // The Redis server's settings (e.g. appendfsync).
    RedisServer::Options redis;
  };

  Stack();
  explicit Stack(Options options);
  ~Stack();

  std::string gateway_url() const { return "http://127.0.0.1:" + std::to_string(port("gateway")); }
  std::string address(const std::string& process) const {
    return "127.0.0.1:" + std::to_string(port(process));
  }
  int port(const std::string& process) const { return ports_.at(process); }

  const std::string& admin_email() const { return admin_email_; }
  const std::string& admin_password() const { return admin_password_; }
  const std::string& internal_token() const { return internal_token_; }

  RedisServer& redis() { return *redis_; }
  SmtpSink& smtp() { return *smtp_; }
  HttpSink& push() { return *push_; }
  Process& process(const std::string& name) { return *processes_.at(name); }

  // Starts (again) one of "accounts", "requests", "notifications", "gateway" and waits until it
  // answers; `Stop` ends it with SIGTERM (or SIGKILL with `kill`).
  void Start(const std::string& name);
  void Stop(const std::string& name, bool kill = false);
  // Another replica of a service binary, named `replica`, with the same settings on its own free
  // gRPC port (CITYHUB_LISTEN_ADDR) and a metrics port (port(replica + "-metrics")), `env` on top.
  void StartReplica(const std::string& service, const std::string& replica,
                    const std::map<std::string, std::string>& env = {});
  // A log of a process so far.
  std::string Log(const std::string& name) const;

 private:
  std::map<std::string, std::string> EnvFor(const std::string& name) const;
  void Launch(const std::string& service, const std::string& name,
              std::map<std::string, std::string> env);

  Options options_;
  std::string dir_;
  std::unique_ptr<RedisServer> redis_;
  std::unique_ptr<SmtpSink> smtp_;
  std::unique_ptr<HttpSink> push_;
  std::map<std::string, int> ports_;
  std::map<std::string, std::unique_ptr<Process>> processes_;
  std::string admin_email_ = "admin@bielefeld.de";
  std::string admin_password_ = "Admin-Passwort-fuer-Tests-1";
  std::string internal_token_;
};

}  // namespace cityhub::testing
