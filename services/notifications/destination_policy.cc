#include "services/notifications/destination_policy.h"

#include <netinet/in.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <memory>

#include <curl/curl.h>

#include "infra/status.h"
#include "infra/strings.h"

namespace cityhub::notifications {

namespace ip = boost::asio::ip;
using Bytes = std::array<unsigned char, 16>;

namespace {

// An address in the IPv6 form the networks are held in: IPv4 as ::ffff:a.b.c.d, and NAT64
// (64:ff9b::a.b.c.d, RFC 6052) as the IPv4 address it stands for.
Bytes Canonical(const ip::address& address) {
  if (address.is_v4()) return ip::make_address_v6(ip::v4_mapped, address.to_v4()).to_bytes();
  Bytes b = address.to_v6().to_bytes();
  static constexpr unsigned char kNat64[12] = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
  if (std::memcmp(b.data(), kNat64, 12) == 0) {
    std::memset(b.data(), 0, 10);
    b[10] = b[11] = 0xff;
  }
  return b;
}

absl::StatusOr<IpNetwork> ParseNetwork(std::string_view text) {
  const size_t slash = text.find('/');
  boost::system::error_code ec;
  const ip::address address = ip::make_address(std::string(text.substr(0, slash)), ec);
  if (ec) return absl::InvalidArgumentError(infra::StrCat("not an address: ", text));
  const int width = address.is_v4() ? 32 : 128;
  int prefix = width;
  if (slash != std::string_view::npos) {
    const std::string_view p = text.substr(slash + 1);
    const auto [end, err] = std::from_chars(p.data(), p.data() + p.size(), prefix);
    if (err != std::errc() || end != p.data() + p.size() || p.empty() || prefix < 0 ||
        prefix > width) {
      return absl::InvalidArgumentError(infra::StrCat("bad prefix length: ", text));
    }
  }
  IpNetwork n;
  // A network of NAT64 addresses is not rewritten: only single addresses are.
  n.base = address.is_v4() ? Canonical(address) : address.to_v6().to_bytes();
  n.prefix = address.is_v4() ? prefix + 96 : prefix;
  for (int bit = n.prefix; bit < 128; ++bit) n.base[bit / 8] &= ~(0x80 >> (bit % 8));
  return n;
}

std::vector<IpNetwork> Networks(std::initializer_list<std::string_view> list) {
  std::vector<IpNetwork> out;
  for (const auto text : list) out.push_back(*ParseNetwork(text));
  return out;
}

bool AnyContains(const std::vector<IpNetwork>& networks, const Bytes& b) {
  return std::any_of(networks.begin(), networks.end(),
                     [&](const IpNetwork& n) { return n.Contains(b); });
}

// IPv4 ranges that are not globally reachable or not unicast (IANA IPv4 special-purpose
// registry, RFC 6890 and successors; multicast; the reserved 240/4 with the broadcast address).
const std::vector<IpNetwork>& NotPublicV4() {
  static const auto* networks = new std::vector<IpNetwork>(Networks({
      "0.0.0.0/8",        // "this network", the unspecified address
      "10.0.0.0/8",       // private (RFC 1918)
      "100.64.0.0/10",    // shared address space (carrier-grade NAT)
      "127.0.0.0/8",      // loopback
      "169.254.0.0/16",   // link-local, cloud metadata endpoints
      "172.16.0.0/12",    // private (RFC 1918)
      "192.0.0.0/24",     // IETF protocol assignments
      "192.0.2.0/24",     // documentation
      "192.88.99.0/24",   // 6to4 relay anycast (deprecated)
      "192.168.0.0/16",   // private (RFC 1918)
      "198.18.0.0/15",    // benchmarking
      "198.51.100.0/24",  // documentation
      "203.0.113.0/24",   // documentation
      "224.0.0.0/4",      // multicast
      "240.0.0.0/4",      // reserved, and 255.255.255.255 broadcast
  }));
  return *networks;
}

// Inside global unicast (2000::/3), what is not globally reachable or hides another address.
const std::vector<IpNetwork>& NotPublicV6() {
  static const auto* networks = new std::vector<IpNetwork>(Networks({
      "2001::/23",      // IETF protocol assignments (Teredo 2001::/32, benchmarking, ORCHID)
      "2001:db8::/32",  // documentation
      "2002::/16",      // 6to4: an IPv4 address inside
      "3fff::/20",      // documentation
  }));
  return *networks;
}

bool IsMappedV4(const Bytes& b) {
  static constexpr unsigned char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  return std::memcmp(b.data(), kMapped, 12) == 0;
}

bool IsPublic(const Bytes& b) {
  if (IsMappedV4(b)) return !AnyContains(NotPublicV4(), b);
  return (b[0] & 0xe0) == 0x20 && !AnyContains(NotPublicV6(), b);
}

// Names that resolve only inside: loopback names, single labels (Kubernetes services through
// the search domains), and the local-use suffixes.
bool IsInternalName(std::string host) {
  std::transform(host.begin(), host.end(), host.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (!host.empty() && host.back() == '.') host.pop_back();
  if (host.find('.') == std::string::npos) return true;
  for (const std::string_view suffix : {".localhost", ".local", ".internal", ".home.arpa"}) {
    if (host.ends_with(suffix)) return true;
  }
  return false;
}

template <typename F>
void ForEachEntry(std::string_view text, F&& f) {
  size_t at = 0;
  while (at < text.size()) {
    const size_t end = std::min(text.find_first_of(", \t\n", at), text.size());
    if (end > at) f(text.substr(at, end - at));
    at = end + 1;
  }
}

}  // namespace

bool IpNetwork::Contains(const Bytes& address) const {
  const int whole = prefix / 8;
  if (std::memcmp(address.data(), base.data(), static_cast<size_t>(whole)) != 0) return false;
  if (prefix % 8 == 0) return true;
  const unsigned char mask = static_cast<unsigned char>(0xff00 >> (prefix % 8));
  return (address[whole] & mask) == base[whole];
}

absl::StatusOr<std::vector<IpNetwork>> ParseNetworks(std::string_view text) {
  std::vector<IpNetwork> out;
  absl::Status status;
  ForEachEntry(text, [&](std::string_view entry) {
    auto n = ParseNetwork(entry);
    if (n.ok()) {
      out.push_back(*n);
    } else if (status.ok()) {
      status = n.status();
    }
  });
  RETURN_IF_ERROR(status);
  return out;
}

absl::StatusOr<std::vector<int>> ParsePorts(std::string_view text) {
  std::vector<int> out;
  absl::Status status;
  ForEachEntry(text, [&](std::string_view entry) {
    int port = 0;
    const auto [end, err] = std::from_chars(entry.data(), entry.data() + entry.size(), port);
    if (err != std::errc() || end != entry.data() + entry.size() || port < 1 || port > 65535) {
      if (status.ok()) status = absl::InvalidArgumentError(infra::StrCat("not a port: ", entry));
    } else {
      out.push_back(port);
    }
  });
  RETURN_IF_ERROR(status);
  return out;
}

bool IsPublicAddress(const ip::address& address) { return IsPublic(Canonical(address)); }

bool DestinationPolicy::PortAllowed(int port) const {
  return std::find(settings_.ports.begin(), settings_.ports.end(), port) != settings_.ports.end();
}

bool DestinationPolicy::Allows(const ip::address& address, int port) const {
  const Bytes b = Canonical(address);
  if (AnyContains(settings_.allow, b)) return true;
  return PortAllowed(port) && IsPublic(b) && !AnyContains(settings_.deny, b);
}

bool DestinationPolicy::Allows(const sockaddr* address, size_t length) const {
  if (address->sa_family == AF_INET && length >= sizeof(sockaddr_in)) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(address);
    return Allows(ip::address_v4(ntohl(in->sin_addr.s_addr)), ntohs(in->sin_port));
  }
  if (address->sa_family == AF_INET6 && length >= sizeof(sockaddr_in6)) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(address);
    Bytes b;
    std::memcpy(b.data(), in6->sin6_addr.s6_addr, 16);
    return Allows(ip::address_v6(b), ntohs(in6->sin6_port));
  }
  return false;
}

absl::Status DestinationPolicy::CheckUrl(std::string_view url) const {
  const std::unique_ptr<CURLU, decltype(&curl_url_cleanup)> u(curl_url(), curl_url_cleanup);
  const std::string text(url);
  if (curl_url_set(u.get(), CURLUPART_URL, text.c_str(), 0) != CURLUE_OK) {
    return absl::InvalidArgumentError("not a URL");
  }
  const auto part = [&](CURLUPart which, unsigned flags) {
    char* value = nullptr;
    std::string out;
    if (curl_url_get(u.get(), which, &value, flags) == CURLUE_OK && value != nullptr) out = value;
    curl_free(value);
    return out;
  };
  const std::string scheme = part(CURLUPART_SCHEME, 0);
  if (scheme != "http" && scheme != "https") return absl::InvalidArgumentError("not http(s)");
  std::string host = part(CURLUPART_HOST, 0);
  const int port = std::atoi(part(CURLUPART_PORT, CURLU_DEFAULT_PORT).c_str());
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  boost::system::error_code ec;
  const ip::address literal = ip::make_address(host, ec);
  const bool lenient = !settings_.allow.empty();
  if (!ec) {
    if (!Allows(literal, port)) {
      return absl::InvalidArgumentError(
          "the destination is not allowed (an internal, private or reserved address, or a port "
          "other than those allowed)");
    }
    return absl::OkStatus();
  }
  if (!lenient && IsInternalName(host)) {
    return absl::InvalidArgumentError("must name a public host, not an internal one");
  }
  if (!lenient && !PortAllowed(port)) {
    return absl::InvalidArgumentError(
        infra::StrCat("the port must be one of ", infra::StrJoin(settings_.ports, ", ")));
  }
  return absl::OkStatus();
}

}  // namespace cityhub::notifications
