#include "services/notifications/http_post.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <algorithm>

namespace cityhub::notifications {

namespace {

size_t Collect(char* data, size_t size, size_t count, void* user) {
  auto* out = static_cast<std::string*>(user);
  if (out->size() < 64 * 1024) out->append(data, std::min(size * count, 64 * 1024 - out->size()));
  return size * count;
}

struct Guard {
  const DestinationPolicy* policy;
  HttpResult* result;
};

// Every socket curl opens for a transfer comes here with the address it will connect to, after
// resolution: the check is on the address actually connected to, so a name that resolves (or
// is rebound) to an internal address gets no connection at all.
curl_socket_t OpenCheckedSocket(void* user, curlsocktype purpose, curl_sockaddr* address) {
  auto* guard = static_cast<Guard*>(user);
  if (purpose != CURLSOCKTYPE_IPCXN ||
      !guard->policy->Allows(&address->addr, static_cast<size_t>(address->addrlen))) {
    char text[INET6_ADDRSTRLEN] = "?";
    const void* raw =
        address->family == AF_INET6
            ? static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(&address->addr)->sin6_addr)
            : static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(&address->addr)->sin_addr);
    inet_ntop(address->family, raw, text, sizeof(text));
    guard->result->refused = true;
    guard->result->refused_address = text;
    return CURL_SOCKET_BAD;
  }
  return socket(address->family, address->socktype, address->protocol);
}

}  // namespace

HttpResult Post(const std::string& url, const std::string& body,
                const std::vector<std::string>& headers, std::chrono::milliseconds timeout,
                const DestinationPolicy* policy) {
  HttpResult r;
  Guard guard{policy, &r};
  CURL* curl = curl_easy_init();
  curl_slist* list = nullptr;
  for (const auto& h : headers) list = curl_slist_append(list, h.c_str());
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_POST, 1L);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, Collect);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &r.body);
  if (policy != nullptr) {
    // "" turns proxies off, http_proxy and friends included: a proxy would be the address
    // checked, and the destination behind it would not.
    curl_easy_setopt(curl, CURLOPT_PROXY, "");
    curl_easy_setopt(curl, CURLOPT_OPENSOCKETFUNCTION, OpenCheckedSocket);
    curl_easy_setopt(curl, CURLOPT_OPENSOCKETDATA, &guard);
  }
  r.code = curl_easy_perform(curl);
  if (r.code == CURLE_OK) {
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r.status);
  } else {
    r.error = curl_easy_strerror(r.code);
  }
  curl_slist_free_all(list);
  curl_easy_cleanup(curl);
  return r;
}

}  // namespace cityhub::notifications
