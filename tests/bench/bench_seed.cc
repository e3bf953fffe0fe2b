// Seeds a stack for the whole-stack benchmark (infra/scripts/bench-stack), straight into Redis:
//   bench_seed accounts --redis 127.0.0.1:6379 --count 10000 --password P --out accounts.txt
//       verified citizen accounts bench<i>@example.de sharing one Argon2id hash of P (hashing
//       10 000 passwords would take minutes and measure nothing); writes "email account_id" lines;
//   bench_seed inbox --redis 127.0.0.1:6379 --accounts accounts.txt --first 200 --per 20
//       status-change events on requests:events for the first accounts, so that their inboxes
//       hold entries when the benchmark reads them (the notifications service makes them).
#include <cstdio>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "cityhub/events/v1/events.pb.h"
#include "infra/clock.h"
#include "infra/config.h"
#include "infra/events/events.h"
#include "infra/events/streams.h"
#include "infra/ids.h"
#include "infra/redis/client.h"
#include "services/accounts/account_store.h"
#include "services/accounts/passwords.h"

namespace {

using cityhub::infra::redis::Client;

std::map<std::string, std::string> Flags(int argc, char** argv) {
  std::map<std::string, std::string> f;
  for (int i = 2; i + 1 < argc; i += 2) {
    std::string name = argv[i];
    if (name.starts_with("--")) f[name.substr(2)] = argv[i + 1];
  }
  return f;
}

cityhub::infra::redis::Options RedisAt(const std::string& address) {
  cityhub::infra::redis::Options options;
  cityhub::infra::SplitHostPort(address, &options.host, &options.port);
  options.pool_size = 4;
  return options;
}

int SeedAccounts(std::map<std::string, std::string>& f) {
  const int count = std::stoi(f["count"]);
  Client redis(RedisAt(f["redis"]));
  cityhub::accounts::AccountStore store(redis);
  cityhub::accounts::PasswordHasher hasher(cityhub::accounts::Argon2Params{}, 1,
                                           std::chrono::seconds(10));
  auto hash = hasher.Hash(f["password"]);
  if (!hash.ok()) return 1;
  cityhub::infra::SystemClock clock;
  std::ofstream out(f["out"]);
  int failed = 0;
  for (int i = 0; i < count; ++i) {
    cityhub::accounts::StoredAccount a;
    a.id = cityhub::infra::NewUlid(clock);
    a.email = "bench" + std::to_string(i) + "@example.de";
    a.email_key = a.email;
    a.display_name = "Bench " + std::to_string(i);
    a.language = "de";
    a.password_hash = *hash;
    a.roles = {"citizen"};
    a.verified = true;
    const int64_t now = cityhub::infra::UnixMillis(clock.Now());
    if (!store
             .Create(a, cityhub::infra::HexEncode(cityhub::infra::RandomBytes(16)),
                     std::chrono::hours(1), now, {})
             .ok()) {
      ++failed;
      continue;
    }
    out << a.email << " " << a.id << "\n";
  }
  std::printf("seeded %d accounts (%d failed)\n", count - failed, failed);
  return failed == 0 ? 0 : 1;
}

int SeedInbox(std::map<std::string, std::string>& f) {
  const int first = std::stoi(f["first"]);
  const int per = std::stoi(f["per"]);
  Client redis(RedisAt(f["redis"]));
  std::ifstream in(f["accounts"]);
  std::string email, id;
  cityhub::infra::SystemClock clock;
  std::vector<cityhub::infra::redis::Args> batch;
  int written = 0;
  for (int n = 0; n < first && in >> email >> id; ++n) {
    for (int k = 0; k < per; ++k) {
      cityhub::events::v1::Event e;
      cityhub::infra::events::Stamp(e, clock, "bench-seed");
      auto* s = e.mutable_request_status_changed();
      s->set_request_id(cityhub::infra::NewUlid(clock));
      s->set_service_code("pothole");
      s->set_department("roads");
      s->set_owner_account_id(id);
      s->set_from_status(cityhub::requests::v1::SUBMITTED);
      s->set_to_status(cityhub::requests::v1::ACKNOWLEDGED);
      s->set_public_note("Wir kümmern uns.");
      s->set_service_name_de("Schlagloch");
      s->set_service_name_en("Pothole");
      batch.push_back(cityhub::infra::events::XAddArgs(cityhub::infra::events::kRequestsStream, e));
      ++written;
    }
    if (batch.size() >= 500) {
      if (!redis.Pipeline(batch).ok()) return 1;
      batch.clear();
    }
  }
  if (!batch.empty() && !redis.Pipeline(batch).ok()) return 1;
  std::printf("wrote %d inbox events\n", written);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: bench_seed accounts|inbox --flag value ...\n");
    return 2;
  }
  auto flags = Flags(argc, argv);
  const std::string mode = argv[1];
  if (mode == "accounts") return SeedAccounts(flags);
  if (mode == "inbox") return SeedInbox(flags);
  std::fprintf(stderr, "bench_seed: unknown mode %s\n", mode.c_str());
  return 2;
}
