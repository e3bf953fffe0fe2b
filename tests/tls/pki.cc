#include "tests/tls/pki.h"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "tests/harness/process.h"

namespace cityhub::testing {

std::string Pki::Read(const std::string& name) const {
  std::ifstream in(Path(name));
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

Pki MakePki() {
  Pki pki{MakeTempDir("cityhub-pki")};
  const std::string command = SourcePath("infra/scripts/dev-certs") + " " + pki.dir;
  if (std::system(command.c_str()) != 0) throw std::runtime_error("dev-certs failed");
  return pki;
}

}  // namespace cityhub::testing
