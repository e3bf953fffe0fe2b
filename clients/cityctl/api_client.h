#pragma once

#include <chrono>
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "clients/cityctl/credentials.h"

namespace cityhub::cityctl {

// The name of a gRPC code number as the error line shows it ("unauthenticated", "not_found").
std::string CodeName(int code);

// "401 unauthenticated: wrong e-mail or password" from an error answer (the API's body
// `{code, message}`), with the request id for server faults.
std::string DescribeError(int status, const std::string& body, const std::string& request_id);

// The public HTTP API of one context's server, signed in with that context's tokens. The access
// token is refreshed with the refresh token when it expires within 30 s, and once after a 401;
// every new pair is saved to the credentials file at once (the old refresh token is spent).
// Calls throw CliError (exit 1) with the API's error text.
class ApiClient final {
 public:
  using Clock = std::function<int64_t()>;  // ms since the epoch

  ApiClient(std::string credentials_path, Credentials credentials, std::string context_name,
            Clock now);

  // Signs in with e-mail and password and stores the pair under the context (creating it and
  // making it current).
  void Login(const std::string& server, const std::string& email, const std::string& password);
  // Revokes the session's refresh token on the server (when signed in) and forgets the tokens.
  void Logout();

  // `method` `path` (with query) with `body` (null: none) as the signed-in user; the parsed answer
  // (an empty object for an empty body).
  nlohmann::json Call(const std::string& method, const std::string& path,
                      const nlohmann::json& body = nullptr);
  // The same without a token (public routes).
  nlohmann::json CallAnonymous(const std::string& method, const std::string& path,
                               const nlohmann::json& body = nullptr);

  const std::string& context_name() const { return context_name_; }
  const Context& context() const;

 private:
  struct Answer {
    int status;
    std::string body;
    std::string request_id;
  };
  Answer Send(const std::string& method, const std::string& path, const nlohmann::json& body,
              const std::string& token) const;
  nlohmann::json Parse(const Answer& answer) const;
  Context& Mutable();
  // Swaps the refresh token for a new pair; throws when the session is over.
  void Refresh();
  void Store(const nlohmann::json& pair);
  void Save();

  std::string path_;
  Credentials credentials_;
  std::string context_name_;
  Clock now_;
};

}  // namespace cityhub::cityctl
