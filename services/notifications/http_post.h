#pragma once

#include <chrono>
#include <string>
#include <vector>

#include <curl/curl.h>

#include "services/notifications/destination_policy.h"

// One HTTP POST with libcurl, for the push and webhook channels.
namespace cityhub::notifications {

struct HttpResult {
  CURLcode code = CURLE_OK;
  long status = 0;
  std::string body;  // the first 64 KiB
  std::string error;
  // A connection the destination policy refused (the address is in `refused_address`).
  bool refused = false;
  std::string refused_address;
};

// A POST; with a `policy`, only to addresses it allows, with no proxy from the environment.
HttpResult Post(const std::string& url, const std::string& body,
                const std::vector<std::string>& headers, std::chrono::milliseconds timeout,
                const DestinationPolicy* policy = nullptr);

}  // namespace cityhub::notifications
