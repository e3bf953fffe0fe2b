#include "tests/harness/api.h"

#include <regex>
#include <stdexcept>

#include "tests/harness/process.h"

namespace cityhub::testing {

Api::Result Api::Raw(const std::string& method, const std::string& path, const std::string& body,
                     std::vector<std::string> headers) const {
  Result r;
  r.raw = HttpRequest(method, base_ + path, body, headers);
  r.status = r.raw.status;
  r.json = nlohmann::json::parse(r.raw.body, nullptr, false);
  if (r.json.is_discarded()) r.json = nullptr;
  return r;
}

Api::Result Api::Call(const std::string& method, const std::string& path,
                      const nlohmann::json& body, const std::string& token,
                      std::vector<std::string> headers) const {
  if (!token.empty()) headers.push_back("Authorization: Bearer " + token);
  std::string text;
  if (!body.is_null()) {
    headers.push_back("Content-Type: application/json");
    text = body.dump();
  }
  return Raw(method, path, text, headers);
}

std::string Api::TokenFromMail(SmtpSink& smtp, const std::string& email,
                               const std::string& marker) {
  std::string token;
  WaitFor(
      [&] {
        for (const std::string& mail : smtp.Mails()) {
          if (mail.find("X-Sink-Rcpt: " + email) == std::string::npos) continue;
          const std::string text = MailText(mail);
          std::smatch m;
          if (std::regex_search(text, m, std::regex(marker + "\\?token=([A-Za-z0-9_-]+)")))
            token = m[1];
        }
        return !token.empty();
      },
      std::chrono::seconds(20));
  return token;
}

std::string Api::NewResident(SmtpSink& smtp, const std::string& email, const std::string& language,
                             std::string* refresh, std::string* account_id) const {
  const Result reg = Call("POST", "/v1/accounts",
                          {{"email", email},
                           {"password", kPassword},
                           {"display_name", "Resident"},
                           {"language", language}});
  if (reg.status != 201) throw std::runtime_error("register failed: " + reg.raw.body);
  if (account_id != nullptr) *account_id = reg.json["account_id"];
  const std::string token = TokenFromMail(smtp, email, "verify-email");
  if (token.empty()) throw std::runtime_error("no verification mail for " + email);
  const Result verified = Call("POST", "/v1/accounts:verifyEmail", {{"token", token}});
  if (verified.status != 200) throw std::runtime_error("verify failed: " + verified.raw.body);
  return SignIn(email, kPassword, refresh);
}

std::string Api::NewOperator(SmtpSink& smtp, const std::string& email,
                             const std::vector<std::string>& departments,
                             const std::string& admin_token) const {
  std::string account_id;
  NewResident(smtp, email, "de", nullptr, &account_id);
  const Result roles = Call("POST", "/v1/accounts/" + account_id + ":setRoles",
                            {{"roles", {"operator"}}, {"departments", departments}}, admin_token);
  if (roles.status != 200) throw std::runtime_error("setRoles failed: " + roles.raw.body);
  return SignIn(email, kPassword);
}

std::string Api::SignIn(const std::string& email, const std::string& password,
                        std::string* refresh) const {
  const Result r = Call("POST", "/v1/sessions", {{"email", email}, {"password", password}});
  if (r.status != 200) throw std::runtime_error("sign-in failed: " + r.raw.body);
  if (refresh != nullptr) *refresh = r.json["refresh_token"];
  return r.json["access_token"];
}

}  // namespace cityhub::testing
