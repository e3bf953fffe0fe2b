#pragma once

#include <string>

// A throwaway CA and certificates for TLS tests (made by infra/scripts/dev-certs).
namespace cityhub::testing {

struct Pki {
  std::string dir;
  std::string Path(const std::string& name) const { return dir + "/" + name; }
  // The file's contents.
  std::string Read(const std::string& name) const;
};

// Makes them in a new temporary directory; throws when openssl fails.
Pki MakePki();

}  // namespace cityhub::testing
