#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "tests/harness/process.h"

namespace cityhub::testing {

// A real HTTP server on a loopback port that records what it is sent (push messages,
// webhooks) and answers with a status the test chooses.
class HttpSink final {
 public:
  struct Received {
    std::string method;
    std::string target;
    std::map<std::string, std::string> headers;  // lower-case names
    std::string body;
  };

  HttpSink();
  ~HttpSink();

  int port() const;
  std::string url(const std::string& path = "/") const;
  // The status to answer (default 200) and the body, decided per request.
  void Respond(std::function<std::pair<int, std::string>(const Received&)> fn);
  std::vector<Received> received() const;
  size_t count() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The project's SMTP sink (infra/scripts/smtp_sink.py, Debian's python3-aiosmtpd) on a free
// loopback port, storing each mail as a file.
class SmtpSink final {
 public:
  SmtpSink();
  ~SmtpSink();
  int port() const { return port_; }
  std::string url() const { return "smtp://127.0.0.1:" + std::to_string(port_); }
  // Every mail so far, oldest first, as received (headers and MIME body).
  std::vector<std::string> Mails() const;

 private:
  int port_;
  std::string dir_;
  std::unique_ptr<Process> process_;
};

// The decoded text parts (base64 bodies) of a MIME mail, concatenated.
std::string MailText(const std::string& mail);

}  // namespace cityhub::testing
