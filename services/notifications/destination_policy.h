#pragma once

#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/ip/address.hpp>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

// Where webhooks may go (server-side request forgery). A partner's URL is the admin's choice,
// but the POST comes from inside the cluster: without a check it reaches Redis, the other
// services, the cloud's metadata endpoint (169.254.169.254) and anything on the node.
//
// An address is allowed when it is globally routable: not loopback, unspecified, link-local,
// private (RFC 1918), shared (CGNAT 100.64.0.0/10), ULA (fc00::/7), multicast, broadcast,
// documentation or otherwise reserved (the IANA special-purpose registries), nor in the
// configured deny list (the cluster's pod and service ranges). IPv4-mapped (::ffff:a.b.c.d) and
// NAT64 (64:ff9b::a.b.c.d) IPv6 addresses are judged by the IPv4 address inside; other IPv6
// addresses must be global unicast (2000::/3). The port must be one of the allowed ports (by
// default 80, 443, 8080, 8443: partners' receivers are web servers, while internal services
// listen elsewhere: Redis 6379, our gRPC 7001-7003, SMTP 25, kubelet 10250, etcd 2379).
//
// An explicit allow list (tests, local development; empty by default) admits its addresses on
// any port, because local receivers listen on free ports.
namespace cityhub::notifications {

// An IP network; IPv4 networks are held as their IPv4-mapped IPv6 form (::ffff:0:0/96 + n).
struct IpNetwork {
  std::array<unsigned char, 16> base{};
  int prefix = 0;  // 0..128, counted in the IPv6 form

  bool Contains(const std::array<unsigned char, 16>& address) const;
};

// "10.0.0.0/8, fd00::/8, 192.0.2.7" (a bare address is a single host) separated by commas or
// spaces; host bits are ignored. INVALID_ARGUMENT naming the bad entry.
absl::StatusOr<std::vector<IpNetwork>> ParseNetworks(std::string_view text);
// "80,443" (1..65535). INVALID_ARGUMENT naming the bad entry.
absl::StatusOr<std::vector<int>> ParsePorts(std::string_view text);

// Whether an address is globally routable by the rules above (no lists, no ports).
bool IsPublicAddress(const boost::asio::ip::address& address);

class DestinationPolicy final {
 public:
  struct Settings {
    std::vector<IpNetwork> allow;
    std::vector<IpNetwork> deny;
    std::vector<int> ports = {80, 443, 8080, 8443};
  };

  DestinationPolicy() = default;
  explicit DestinationPolicy(Settings settings) : settings_(std::move(settings)) {}

  // Whether a connection to `address`:`port` is allowed.
  bool Allows(const boost::asio::ip::address& address, int port) const;
  // The same for the address a socket is about to connect to (AF_INET, AF_INET6; others: no).
  bool Allows(const sockaddr* address, size_t length) const;

  // At registration: OK, or INVALID_ARGUMENT with the problem (without a field name) when the
  // URL is not http(s) or can be seen not to be allowed without resolving it: an address
  // literal that is not allowed, or, unless an allow list is configured (a name may resolve
  // into it), a port that is not allowed or a name that only resolves inside (localhost, a
  // single label such as a Kubernetes service, *.local, *.internal). Delivery checks the
  // address it connects to every time.
  absl::Status CheckUrl(std::string_view url) const;

  const Settings& settings() const { return settings_; }

 private:
  bool PortAllowed(int port) const;

  Settings settings_;
};

}  // namespace cityhub::notifications
