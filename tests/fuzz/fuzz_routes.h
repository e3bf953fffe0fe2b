#pragma once

#include "gateway/routes.h"

namespace cityhub::fuzz {

// The gateway's route table over the public services, built once per fuzzing process.
inline const gateway::RouteTable& PublicRoutes() {
  static const auto* routes =
      new gateway::RouteTable(gateway::RouteTable::Build(gateway::PublicServices()).value());
  return *routes;
}

}  // namespace cityhub::fuzz
