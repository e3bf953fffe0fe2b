#include "services/notifications/destination_policy.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace cityhub::notifications {
namespace {

using ::testing::HasSubstr;

boost::asio::ip::address A(const std::string& text) { return boost::asio::ip::make_address(text); }

bool Public(const std::string& text) { return IsPublicAddress(A(text)); }

// Each forbidden range at its first and last address, the neighbours just outside it where
// they are public, and each IPv4 range again in its IPv4-mapped and NAT64 IPv6 forms.
TEST(DestinationPolicy, RefusesEveryNonPublicIpv4RangeAtItsEdges) {
  const std::vector<std::pair<std::string, std::string>> refused = {
      {"0.0.0.0", "0.255.255.255"},       {"10.0.0.0", "10.255.255.255"},
      {"100.64.0.0", "100.127.255.255"},  {"127.0.0.0", "127.255.255.255"},
      {"169.254.0.0", "169.254.255.255"}, {"172.16.0.0", "172.31.255.255"},
      {"192.0.0.0", "192.0.0.255"},       {"192.0.2.0", "192.0.2.255"},
      {"192.88.99.0", "192.88.99.255"},   {"192.168.0.0", "192.168.255.255"},
      {"198.18.0.0", "198.19.255.255"},   {"198.51.100.0", "198.51.100.255"},
      {"203.0.113.0", "203.0.113.255"},   {"224.0.0.0", "239.255.255.255"},
      {"240.0.0.0", "255.255.255.255"}};
  for (const auto& [first, last] : refused) {
    for (const auto& a : {first, last}) {
      EXPECT_FALSE(Public(a)) << a;
      EXPECT_FALSE(Public("::ffff:" + a)) << "::ffff:" << a;
      EXPECT_FALSE(Public("64:ff9b::" + a)) << "64:ff9b::" << a;
    }
  }
  for (const std::string a :
       {"1.0.0.0", "9.255.255.255", "11.0.0.0", "100.63.255.255", "100.128.0.0", "126.255.255.255",
        "128.0.0.0", "169.253.255.255", "169.255.0.0", "172.15.255.255", "172.32.0.0",
        "192.167.255.255", "192.169.0.0", "198.17.255.255", "198.20.0.0", "223.255.255.255",
        "8.8.8.8", "93.184.216.34"}) {
    EXPECT_TRUE(Public(a)) << a;
    EXPECT_TRUE(Public("::ffff:" + a)) << "::ffff:" << a;
    EXPECT_TRUE(Public("64:ff9b::" + a)) << "64:ff9b::" << a;
  }
}

TEST(DestinationPolicy, AllowsOnlyGlobalUnicastIpv6) {
  for (const std::string a : {"::",
                              "::1",
                              "::127.0.0.1",
                              "::ffff:0:7f00:1",
                              "64:ff9b:1::1",
                              "100::1",
                              "fe80::1",
                              "febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
                              "fec0::1",
                              "fc00::",
                              "fd00:ec2::254",
                              "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
                              "ff02::1",
                              "ff05::2",
                              "1fff:ffff::1",
                              "2001::1",
                              "2001:1ff:ffff::1",
                              "2001:db8::1",
                              "2002:7f00:1::1",
                              "3fff::1",
                              "4000::1",
                              "e000::1"}) {
    EXPECT_FALSE(Public(a)) << a;
  }
  for (const std::string a : {"2000::1", "2001:200::1", "2001:4860:4860::8888", "2003::1",
                              "2a00:1450:4001:82b::200e", "3ffe:ffff::1", "3fff:1000::1"}) {
    EXPECT_TRUE(Public(a)) << a;
  }
}

TEST(DestinationPolicy, PortsDenyListAndAllowList) {
  auto deny = ParseNetworks("203.0.114.0/24, 2a00:1::/32");
  ASSERT_TRUE(deny.ok());
  DestinationPolicy policy(DestinationPolicy::Settings{{}, *deny, {80, 443, 8080, 8443}});
  for (const int port : {80, 443, 8080, 8443}) EXPECT_TRUE(policy.Allows(A("8.8.8.8"), port));
  for (const int port : {22, 25, 6379, 7001, 10250, 2379, 0}) {
    EXPECT_FALSE(policy.Allows(A("8.8.8.8"), port)) << port;
  }
  // Configured cluster ranges, in every form.
  EXPECT_FALSE(policy.Allows(A("203.0.114.9"), 443));
  EXPECT_FALSE(policy.Allows(A("::ffff:203.0.114.9"), 443));
  EXPECT_FALSE(policy.Allows(A("2a00:1:2::3"), 443));
  EXPECT_TRUE(policy.Allows(A("203.0.115.9"), 443));

  // The allow list admits its addresses on any port, and nothing else.
  DestinationPolicy local(DestinationPolicy::Settings{*ParseNetworks("127.0.0.1/32"), {}, {443}});
  EXPECT_TRUE(local.Allows(A("127.0.0.1"), 39001));
  EXPECT_TRUE(local.Allows(A("::ffff:127.0.0.1"), 39001));
  EXPECT_FALSE(local.Allows(A("127.0.0.2"), 443));
  EXPECT_FALSE(local.Allows(A("::1"), 443));
}

TEST(DestinationPolicy, ChecksTheSocketAddressCurlIsAboutToConnectTo) {
  DestinationPolicy policy;
  sockaddr_in in{};
  in.sin_family = AF_INET;
  in.sin_port = htons(443);
  ASSERT_EQ(inet_pton(AF_INET, "169.254.169.254", &in.sin_addr), 1);
  EXPECT_FALSE(policy.Allows(reinterpret_cast<const sockaddr*>(&in), sizeof(in)));
  ASSERT_EQ(inet_pton(AF_INET, "93.184.216.34", &in.sin_addr), 1);
  EXPECT_TRUE(policy.Allows(reinterpret_cast<const sockaddr*>(&in), sizeof(in)));
  in.sin_port = htons(6379);
  EXPECT_FALSE(policy.Allows(reinterpret_cast<const sockaddr*>(&in), sizeof(in)));
  sockaddr_in6 in6{};
  in6.sin6_family = AF_INET6;
  in6.sin6_port = htons(443);
  ASSERT_EQ(inet_pton(AF_INET6, "::ffff:10.0.0.1", &in6.sin6_addr), 1);
  EXPECT_FALSE(policy.Allows(reinterpret_cast<const sockaddr*>(&in6), sizeof(in6)));
  ASSERT_EQ(inet_pton(AF_INET6, "2a00:1450:4001:82b::200e", &in6.sin6_addr), 1);
  EXPECT_TRUE(policy.Allows(reinterpret_cast<const sockaddr*>(&in6), sizeof(in6)));
  sockaddr unix_like{};
  unix_like.sa_family = AF_UNIX;
  EXPECT_FALSE(policy.Allows(&unix_like, sizeof(unix_like)));
}

TEST(DestinationPolicy, RegistrationRefusesWhatCanBeSeenWithoutResolving) {
  DestinationPolicy policy;
  for (const std::string url : {"http://169.254.169.254/latest/meta-data/",
                                "http://127.0.0.1/",
                                "http://[::1]/",
                                "http://[::ffff:127.0.0.1]/",
                                "http://[::ffff:a9fe:a9fe]/",
                                "http://10.1.2.3:8080/",
                                "http://0.0.0.0/",
                                "http://0x7f.1/",
                                "http://2130706433/",
                                "http://[fe80::1%25eth0]/",
                                "https://93.184.216.34:6379/",
                                "http://redis:6379/",
                                "http://notifications/",
                                "http://localhost/",
                                "http://LOCALHOST./",
                                "http://api.localhost/",
                                "http://redis.cityhub.svc.cluster.local/",
                                "http://metadata.google.internal/",
                                "https://partner.example:6379/",
                                "ftp://partner.example/",
                                "not a url"}) {
    EXPECT_FALSE(policy.CheckUrl(url).ok()) << url;
  }
  for (const std::string url :
       {"https://partner.example/hooks", "http://partner.example:8080/x", "https://8.8.8.8/",
        "https://[2a00:1450:4001:82b::200e]:8443/", "https://partner.example.:443/"}) {
    EXPECT_TRUE(policy.CheckUrl(url).ok()) << url << ": " << policy.CheckUrl(url).message();
  }
  EXPECT_THAT(std::string(policy.CheckUrl("https://partner.example:25/").message()),
              HasSubstr("80, 443, 8080, 8443"));

  // With an allow list (local development) names and their ports wait for delivery.
  DestinationPolicy local(DestinationPolicy::Settings{*ParseNetworks("127.0.0.1/32"), {}});
  EXPECT_TRUE(local.CheckUrl("http://127.0.0.1:39001/hook").ok());
  EXPECT_TRUE(local.CheckUrl("http://localhost:39001/hook").ok());
  EXPECT_FALSE(local.CheckUrl("http://169.254.169.254/").ok());
}

TEST(DestinationPolicy, ParsesListsAndNamesTheBadEntry) {
  auto n = ParseNetworks(" 10.96.0.0/12,fd00::/8 192.0.2.7 ");
  ASSERT_TRUE(n.ok());
  ASSERT_EQ(n->size(), 3u);
  EXPECT_EQ((*n)[0].prefix, 96 + 12);
  EXPECT_EQ((*n)[2].prefix, 128);
  EXPECT_TRUE(ParseNetworks("").ok());
  EXPECT_THAT(std::string(ParseNetworks("10.0.0.0/8,10.0.0.0/33").status().message()),
              HasSubstr("10.0.0.0/33"));
  EXPECT_THAT(std::string(ParseNetworks("cluster").status().message()), HasSubstr("cluster"));
  EXPECT_FALSE(ParseNetworks("10.0.0.0/").ok());
  EXPECT_FALSE(ParseNetworks("fd00::/129").ok());
  // Host bits are ignored: 10.1.2.3/8 is 10.0.0.0/8.
  DestinationPolicy policy(DestinationPolicy::Settings{{}, *ParseNetworks("8.8.4.4/16"), {443}});
  EXPECT_FALSE(policy.Allows(A("8.8.8.8"), 443));
  auto ports = ParsePorts("443, 8443");
  ASSERT_TRUE(ports.ok());
  EXPECT_EQ(*ports, (std::vector<int>{443, 8443}));
  EXPECT_THAT(std::string(ParsePorts("443,https").status().message()), HasSubstr("https"));
  EXPECT_FALSE(ParsePorts("0").ok());
  EXPECT_FALSE(ParsePorts("65536").ok());
}

}  // namespace
}  // namespace cityhub::notifications
