#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/harness/http.h"
#include "tests/harness/sinks.h"

namespace cityhub::testing {

// A client for cityhub's public HTTP API, as an app would use it.
class Api final {
 public:
  struct Result {
    int status = 0;
    nlohmann::json json;  // the parsed body (null when not JSON)
    HttpResponse raw;
  };

  explicit Api(std::string base_url) : base_(std::move(base_url)) {}

  Result Call(const std::string& method, const std::string& path,
              const nlohmann::json& body = nullptr, const std::string& token = "",
              std::vector<std::string> headers = {}) const;
  Result Raw(const std::string& method, const std::string& path, const std::string& body,
             std::vector<std::string> headers) const;

  // Registers, reads the verification mail from `smtp`, verifies, signs in; returns the access
  // token (and fills `refresh` and `account_id` when given).
  std::string NewResident(SmtpSink& smtp, const std::string& email,
                          const std::string& language = "de", std::string* refresh = nullptr,
                          std::string* account_id = nullptr) const;
  // A new verified account made operator of `departments` by `admin_token`, signed in again so
  // that its token carries the role; returns that access token.
  std::string NewOperator(SmtpSink& smtp, const std::string& email,
                          const std::vector<std::string>& departments,
                          const std::string& admin_token) const;
  // Signs in; returns the access token.
  std::string SignIn(const std::string& email, const std::string& password,
                     std::string* refresh = nullptr) const;
  // The token from the newest mail to `email` with `marker` ("verify-email" or "reset-password").
  static std::string TokenFromMail(SmtpSink& smtp, const std::string& email,
                                   const std::string& marker);

  static constexpr char kPassword[] = "Laterne-am-Jahnplatz-7";

 private:
  std::string base_;
};

}  // namespace cityhub::testing
