#include <curl/curl.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cstring>
#include <ctime>

#include "infra/strings.h"
#include "services/notifications/channels.h"

namespace cityhub::notifications {

using infra::StrAppend;
using infra::StrCat;

namespace {

std::string Base64(std::string_view data) {
  std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(data.data()),
                                static_cast<int>(data.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

// Base64 in lines of 76 characters, as MIME wants it.
std::string Base64Lines(std::string_view data) {
  const std::string b = Base64(data);
  std::string out;
  for (size_t i = 0; i < b.size(); i += 76) StrAppend(&out, b.substr(i, 76), "\r\n");
  return out;
}

// The address inside "Name <addr>", or the text itself.
std::string Address(std::string_view from) {
  const size_t lt = from.find('<');
  const size_t gt = from.find('>');
  if (lt != std::string_view::npos && gt != std::string_view::npos && gt > lt) {
    return std::string(from.substr(lt + 1, gt - lt - 1));
  }
  return std::string(from);
}

std::string RfcDate() {
  char buf[64];
  const time_t now = time(nullptr);
  tm t{};
  gmtime_r(&now, &t);
  strftime(buf, sizeof(buf), "%a, %d %b %Y %H:%M:%S +0000", &t);
  return buf;
}

struct Upload {
  std::string data;
  size_t at = 0;
};

size_t Feed(char* buffer, size_t size, size_t count, void* user) {
  auto* u = static_cast<Upload*>(user);
  const size_t n = std::min(size * count, u->data.size() - u->at);
  std::memcpy(buffer, u->data.data() + u->at, n);
  u->at += n;
  return n;
}

}  // namespace

Outcome MailChannel::Send(const StoredJob& job) {
  if (settings_.url.empty()) return {Outcome::kGiveUp, "e-mail is not configured", false};
  if (job.to().find_first_of("\r\n<>") != std::string::npos)
    return {Outcome::kGiveUp, "bad recipient", false};
  if (job.list_unsubscribe().find_first_of("\r\n<>") != std::string::npos)
    return {Outcome::kGiveUp, "bad unsubscribe link", false};
  const std::string boundary = StrCat("cityhub-", job.id());
  // RFC 8058 one-click unsubscribe: the mail client POSTs "List-Unsubscribe=One-Click" there.
  const std::string unsubscribe =
      job.list_unsubscribe().empty()
          ? std::string()
          : StrCat("List-Unsubscribe: <", job.list_unsubscribe(),
                   ">\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n");
  Upload upload;
  upload.data = StrCat(
      "Date: ", RfcDate(), "\r\nFrom: ", settings_.from, "\r\nTo: <", job.to(),
      ">\r\nSubject: =?UTF-8?B?", Base64(job.title()), "?=\r\nMessage-ID: <", job.id(),
      "@cityhub>\r\n", unsubscribe,
      "MIME-Version: 1.0\r\nAuto-Submitted: auto-generated\r\n"
      "Content-Type: multipart/alternative; boundary=\"",
      boundary, "\"\r\n\r\n--", boundary,
      "\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: base64\r\n\r\n",
      Base64Lines(job.text()), "--", boundary,
      "\r\nContent-Type: text/html; charset=UTF-8\r\nContent-Transfer-Encoding: base64\r\n\r\n",
      Base64Lines(job.html()), "--", boundary, "--\r\n");
  CURL* curl = curl_easy_init();
  curl_slist* rcpt = curl_slist_append(nullptr, StrCat("<", job.to(), ">").c_str());
  const std::string from = StrCat("<", Address(settings_.from), ">");
  curl_easy_setopt(curl, CURLOPT_URL, settings_.url.c_str());
  curl_easy_setopt(curl, CURLOPT_MAIL_FROM, from.c_str());
  curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, rcpt);
  curl_easy_setopt(curl, CURLOPT_READFUNCTION, Feed);
  curl_easy_setopt(curl, CURLOPT_READDATA, &upload);
  curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
  // STARTTLS when the server offers it; with credentials it is required, so that a server
  // (or someone in between) that does not offer it never sees the password.
  curl_easy_setopt(curl, CURLOPT_USE_SSL,
                   static_cast<long>(settings_.user.empty() ? CURLUSESSL_TRY : CURLUSESSL_ALL));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(settings_.timeout.count()));
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  if (!settings_.user.empty()) {
    curl_easy_setopt(curl, CURLOPT_USERNAME, settings_.user.c_str());
    curl_easy_setopt(curl, CURLOPT_PASSWORD, settings_.password.c_str());
  }
  const CURLcode code = curl_easy_perform(curl);
  long reply = 0;  // the server's last SMTP reply code
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply);
  curl_slist_free_all(rcpt);
  curl_easy_cleanup(curl);
  if (code == CURLE_OK) return {Outcome::kSent, "", false};
  // The recipient's mailbox refused (no such mailbox, not here, bad address): asking again would
  // only be refused again. Other failures, 5xx included (530/535: our credentials, 554: a
  // refused session), are the server's or ours to fix, and retried.
  if (reply == 550 || reply == 551 || reply == 553) {
    return {Outcome::kGiveUp, StrCat("mail server refused: ", reply), false};
  }
  return {Outcome::kRetry, StrCat("mail server: ", curl_easy_strerror(code)), false};
}

}  // namespace cityhub::notifications
