#include "tests/harness/stack.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "infra/ids.h"
#include "tests/harness/health.h"
#include "tests/harness/http.h"

namespace cityhub::testing {

namespace {

void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary);
  out << data;
}

}  // namespace

Stack::Stack() : Stack(Options{}) {}

Stack::Stack(Options options) : options_(std::move(options)), dir_(MakeTempDir("cityhub-stack")) {
  redis_ = std::make_unique<RedisServer>(options_.redis);
  smtp_ = std::make_unique<SmtpSink>();
  push_ = std::make_unique<HttpSink>();
  for (const char* name : {"accounts", "requests", "notifications", "gateway"})
    ports_[name] = FreePort();
  internal_token_ = infra::RandomToken(32);
  WriteFile(dir_ + "/internal-token", internal_token_);
  WriteFile(dir_ + "/admin-password", admin_password_);
  const std::string key = dir_ + "/jwt.pem";
  if (std::system(("openssl genpkey -algorithm ed25519 -out " + key + " 2>/dev/null").c_str()) !=
      0) {
    throw std::runtime_error("openssl genpkey failed");
  }
  Start("accounts");
  Start("requests");
  if (options_.notifications) Start("notifications");
  if (options_.gateway) Start("gateway");
}

Stack::~Stack() {
  for (const char* name : {"gateway", "notifications", "requests", "accounts"})
    processes_.erase(name);
  processes_.clear();  // replicas
  push_.reset();
  smtp_.reset();
  redis_.reset();
  // CITYHUB_KEEP_TEST_DIRS=1 keeps the processes' logs and data for a look after a failure.
  if (std::getenv("CITYHUB_KEEP_TEST_DIRS") == nullptr) {
    RemoveTree(dir_);
  } else {
    std::fprintf(stderr, "stack kept in %s\n", dir_.c_str());
  }
}

std::map<std::string, std::string> Stack::EnvFor(const std::string& name) const {
  std::map<std::string, std::string> env = {
      {"CITYHUB_REDIS_URL", redis_->url()},
      {"CITYHUB_INTERNAL_TOKEN_FILE", dir_ + "/internal-token"},
      {"CITYHUB_ACCOUNTS_ADDR", address("accounts")},
      {"CITYHUB_REQUESTS_ADDR", address("requests")},
      {"CITYHUB_NOTIFICATIONS_ADDR", address("notifications")},
      {"CITYHUB_ACCOUNTS_METRICS_ADDR", "off"},
      {"CITYHUB_REQUESTS_METRICS_ADDR", "off"},
      {"CITYHUB_NOTIFICATIONS_METRICS_ADDR", "off"},
      {"CITYHUB_GATEWAY_ADDR", address("gateway")},
      {"CITYHUB_DRAIN_DELAY", "0ms"},
      {"CITYHUB_SHUTDOWN_GRACE", "2s"},
      {"CITYHUB_PUBLIC_BASE_URL", gateway_url()},
      {"CITYHUB_APP_URL", "https://app.example"},
      {"CITYHUB_JWT_SIGNING_KEY_FILE", dir_ + "/jwt.pem"},
      {"CITYHUB_BOOTSTRAP_ADMIN_EMAIL", admin_email_},
      {"CITYHUB_BOOTSTRAP_ADMIN_PASSWORD_FILE", dir_ + "/admin-password"},
      {"CITYHUB_DATA_DIR", dir_},
      {"CITYHUB_MEDIA_DIR", dir_ + "/media"},
      {"CITYHUB_CATALOGUE_SEED_FILE", SourcePath("services/requests/catalogue/bielefeld.json")},
      {"CITYHUB_BOUNDARY_SEED_FILE",
       SourcePath("services/requests/data/bielefeld-boundary.geojson")},
      {"CITYHUB_DISTRICTS_SEED_FILE",
       SourcePath("services/requests/data/bielefeld-districts.geojson")},
      {"CITYHUB_SMTP_URL", smtp_->url()},
      {"CITYHUB_PUSH_ENDPOINT", push_->url("/v1/projects/cityhub/messages:send")},
      {"CITYHUB_DELIVERY_BACKOFF", "50ms"},
      {"CITYHUB_DELIVERY_BACKOFF_MAX", "200ms"},
  };
  if (!options_.notifications) env.erase("CITYHUB_NOTIFICATIONS_ADDR");
  for (const auto& [k, v] : options_.env) env[k] = v;
  (void)name;
  return env;
}

void Stack::Start(const std::string& name) { Launch(name, name, EnvFor(name)); }

void Stack::StartReplica(const std::string& service, const std::string& replica,
                         const std::map<std::string, std::string>& env) {
  ports_[replica] = FreePort();
  ports_[replica + "-metrics"] = FreePort();
  auto full = EnvFor(service);
  full["CITYHUB_LISTEN_ADDR"] = address(replica);
  std::string upper = service;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  full["CITYHUB_" + upper + "_METRICS_ADDR"] = address(replica + "-metrics");
  for (const auto& [k, v] : env) full[k] = v;
  Launch(service, replica, full);
}

void Stack::Launch(const std::string& service, const std::string& name,
                   std::map<std::string, std::string> env) {
  const std::string binary = service == "gateway"
                                 ? BuildPath("gateway/gateway")
                                 : BuildPath("services/" + service + "/" + service);
  processes_[name] = std::make_unique<Process>(
      Process::Options{{binary}, std::move(env), dir_ + "/" + name + ".log"});
  bool up = false;
  if (service == "gateway") {
    up = WaitFor(
        [&] {
          return HttpRequest("GET", gateway_url() + "/healthz", "", {},
                             std::chrono::milliseconds(500))
                     .status == 200;
        },
        std::chrono::seconds(20));
  } else {
    up = WaitForServing(address(name), std::chrono::seconds(20));
  }
  if (!up) throw std::runtime_error(name + " did not start: " + processes_[name]->Log());
}

void Stack::Stop(const std::string& name, bool kill) {
  auto it = processes_.find(name);
  if (it == processes_.end()) return;
  if (kill) {
    it->second->Signal(SIGKILL);
    it->second->Wait(std::chrono::seconds(5));
  } else {
    it->second->Stop();
  }
}

std::string Stack::Log(const std::string& name) const {
  std::ifstream in(dir_ + "/" + name + ".log");
  std::stringstream b;
  b << in.rdbuf();
  return b.str();
}

}  // namespace cityhub::testing
