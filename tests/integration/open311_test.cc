// Open311 GeoReport v2 conformance through the real gateway: every resource in .json and .xml,
// the XML read back by a real parser (libxml2), the spec's errors and limits, and the same
// requests seen through the v1 API.
#include <arpa/inet.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "infra/ids.h"
#include "services/requests/request_store.h"
#include "tests/harness/api.h"
#include "tests/harness/stack.h"

namespace cityhub::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using json = nlohmann::json;

constexpr char kCity[] = "bielefeld.de";

// A parsed XML document with XPath queries; parsing fails the test on malformed XML.
class Xml {
 public:
  explicit Xml(const std::string& text) {
    doc_ = xmlReadMemory(text.data(), static_cast<int>(text.size()), "open311.xml", nullptr,
                         XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    EXPECT_NE(doc_, nullptr) << "not well-formed XML:\n" << text;
  }
  ~Xml() {
    if (doc_ != nullptr) xmlFreeDoc(doc_);
  }
  bool ok() const { return doc_ != nullptr; }
  std::string root() const {
    const xmlNode* r = doc_ == nullptr ? nullptr : xmlDocGetRootElement(doc_);
    return r == nullptr ? "" : reinterpret_cast<const char*>(r->name);
  }
  std::string encoding() const {
    return doc_ != nullptr && doc_->encoding != nullptr
               ? reinterpret_cast<const char*>(doc_->encoding)
               : "";
  }
  int Count(const std::string& xpath) const {
    return Eval(xpath, [](xmlXPathObjectPtr o) {
      return o->nodesetval == nullptr ? 0 : o->nodesetval->nodeNr;
    });
  }
  // The text of the first node matching `xpath` ("" when none).
  std::string Text(const std::string& xpath) const {
    std::string out;
    Eval(xpath, [&](xmlXPathObjectPtr o) {
      if (o->nodesetval != nullptr && o->nodesetval->nodeNr > 0) {
        xmlChar* content = xmlNodeGetContent(o->nodesetval->nodeTab[0]);
        if (content != nullptr) out = reinterpret_cast<const char*>(content);
        xmlFree(content);
      }
      return 0;
    });
    return out;
  }

 private:
  template <typename Fn>
  int Eval(const std::string& xpath, Fn fn) const {
    if (doc_ == nullptr) return -1;
    xmlXPathContextPtr ctx = xmlXPathNewContext(doc_);
    xmlXPathObjectPtr result =
        xmlXPathEvalExpression(reinterpret_cast<const xmlChar*>(xpath.c_str()), ctx);
    const int n = result == nullptr ? -1 : fn(result);
    if (result != nullptr) xmlXPathFreeObject(result);
    xmlXPathFreeContext(ctx);
    return n;
  }
  xmlDocPtr doc_ = nullptr;
};

std::string Encode(const std::string& text) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string FormOf(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string out;
  for (const auto& [k, v] : fields) out += (out.empty() ? "" : "&") + Encode(k) + "=" + Encode(v);
  return out;
}

class Open311Test : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    Stack::Options options;
    // Two jurisdictions, so jurisdiction_id is required; budgets for one busy test address.
    options.env = {{"CITYHUB_EXTRA_JURISDICTIONS", "guetersloh.de=51.85,8.30,51.95,8.45"},
                   {"CITYHUB_RATE_LIMIT_READ", "2000/s,burst=5000"},
                   {"CITYHUB_RATE_LIMIT_CREATE", "5000/min,burst=5000"},
                   {"CITYHUB_RATE_LIMIT_WRITE", "5000/min,burst=5000"}};
    stack_ = new Stack(options);
    api_ = new Api(stack_->gateway_url());
    admin_ = api_->SignIn(stack_->admin_email(), stack_->admin_password());
    auto key = api_->Call("POST", "/v1/apiKeys", {{"name", "FixMyStreet Bielefeld"}}, admin_);
    ASSERT_EQ(key.status, 201) << key.raw.body;
    api_key_ = key.json["api_key"];
    api_key_id_ = key.json["api_key_id"];
    std::string operator_id;
    api_->NewResident(stack_->smtp(), "strassen@bielefeld.de", "de", nullptr, &operator_id);
    const auto roles =
        api_->Call("POST", "/v1/accounts/" + operator_id + ":setRoles",
                   {{"roles", {"operator"}}, {"departments", {"roads", "waste"}}}, admin_);
    ASSERT_EQ(roles.status, 200) << roles.raw.body;
    operator_ = api_->SignIn("strassen@bielefeld.de", Api::kPassword);
  }
  static void TearDownTestSuite() {
    delete api_;
    delete stack_;
  }

  // GET /open311/v2/<path> with jurisdiction_id added (unless `with_jurisdiction` is false).
  static HttpResponse Get(const std::string& path, bool with_jurisdiction = true) {
    std::string url = stack_->gateway_url() + "/open311/v2/" + path;
    if (with_jurisdiction)
      url +=
          std::string(path.find('?') == std::string::npos ? "?" : "&") + "jurisdiction_id=" + kCity;
    return HttpRequest("GET", url);
  }
  static HttpResponse Post(const std::string& format,
                           std::vector<std::pair<std::string, std::string>> fields) {
    return HttpRequest("POST", stack_->gateway_url() + "/open311/v2/requests." + format,
                       FormOf(fields), {"Content-Type: application/x-www-form-urlencoded"});
  }
  static std::vector<std::pair<std::string, std::string>> Pothole() {
    return {{"jurisdiction_id", kCity},
            {"api_key", api_key_},
            {"service_code", "pothole"},
            {"lat", "52.0211"},
            {"long", "8.5325"},
            {"attribute[surface]", "road"},
            {"description", "Schlagloch vor der Sparrenburg"},
            {"email", "melderin@example.de"},
            {"first_name", "Erika"},
            {"last_name", "Mustermann"},
            {"account_id", "fms-4711"}};
  }
  static std::string CreatePothole() {
    auto r = Post("json", Pothole());
    EXPECT_EQ(r.status, 201) << r.body;
    return json::parse(r.body)[0]["service_request_id"];
  }
  static void ExpectError(const HttpResponse& r, int status, const std::string& format,
                          const std::string& text) {
    EXPECT_EQ(r.status, status) << r.body;
    if (format == "json") {
      EXPECT_THAT(r.header("content-type"), StartsWith("application/json"));
      const auto body = json::parse(r.body, nullptr, false);
      ASSERT_TRUE(body.is_array()) << r.body;
      ASSERT_EQ(body.size(), 1u);
      EXPECT_EQ(body[0]["code"], status);
      EXPECT_THAT(body[0]["description"].get<std::string>(), HasSubstr(text));
    } else {
      EXPECT_THAT(r.header("content-type"), StartsWith("text/xml"));
      Xml xml(r.body);
      EXPECT_EQ(xml.root(), "errors");
      EXPECT_EQ(xml.Text("/errors/error/code"), std::to_string(status));
      EXPECT_THAT(xml.Text("/errors/error/description"), HasSubstr(text));
    }
  }

  static Stack* stack_;
  static Api* api_;
  static std::string admin_, operator_, api_key_, api_key_id_;
};

Stack* Open311Test::stack_ = nullptr;
Api* Open311Test::api_ = nullptr;
std::string Open311Test::admin_, Open311Test::operator_, Open311Test::api_key_,
    Open311Test::api_key_id_;

TEST_F(Open311Test, DiscoveryInBothFormats) {
  // The spec's discovery takes no jurisdiction_id, even where two jurisdictions are served.
  const auto j = Get("discovery.json", false);
  ASSERT_EQ(j.status, 200) << j.body;
  const auto doc = json::parse(j.body);
  EXPECT_EQ(doc["endpoints"][0]["specification"], "http://wiki.open311.org/GeoReport_v2");
  EXPECT_THAT(doc["endpoints"][0]["url"].get<std::string>(), HasSubstr("/open311/v2"));
  const auto x = Get("discovery.xml", false);
  ASSERT_EQ(x.status, 200) << x.body;
  EXPECT_EQ(x.header("content-type"), "text/xml; charset=utf-8");
  Xml xml(x.body);
  EXPECT_EQ(xml.root(), "discovery");
  EXPECT_EQ(xml.encoding(), "UTF-8");
  EXPECT_EQ(xml.Count("/discovery/endpoints/endpoint/formats/format"), 2);
  EXPECT_EQ(xml.Text("/discovery/changeset"), doc["changeset"]);
  EXPECT_EQ(xml.Text("/discovery/endpoints/endpoint/specification"),
            "http://wiki.open311.org/GeoReport_v2");
  // Given anyway, it must be one that is served.
  EXPECT_EQ(Get("discovery.json").status, 200);
  ExpectError(Get("discovery.json?jurisdiction_id=atlantis.example", false), 404, "json",
              "jurisdiction_id");
}

TEST_F(Open311Test, InvalidUtf8InAPathIdIs400NamingTheField) {
  ExpectError(Get("services/%FF%FE.json"), 400, "json", "service_code: not valid UTF-8");
  ExpectError(Get("services/pot%C3%28hole.xml"), 400, "xml", "service_code: not valid UTF-8");
  ExpectError(Get("requests/01J%E2%82.json"), 400, "json", "service_request_id: not valid UTF-8");
  ExpectError(Get("tokens/%FF.xml"), 400, "xml", "token: not valid UTF-8");
  // Well-formed but unknown is still an unknown resource.
  ExpectError(Get("services/stra%C3%9Fe.json"), 404, "json", "service_code");
}

TEST_F(Open311Test, HeadAnswersWithoutABodyOnAKeptAliveConnection) {
  const int fd = ConnectLoopback(stack_->port("gateway"));
  ASSERT_GE(fd, 0);
  const std::string get = Get("discovery.xml", false).body;
  ASSERT_FALSE(get.empty());
  std::string buffer;
  auto read_head = [&]() {
    size_t end;
    while ((end = buffer.find("\r\n\r\n")) == std::string::npos) {
      pollfd p{fd, POLLIN, 0};
      char chunk[4096];
      if (::poll(&p, 1, 5000) <= 0) return std::string();
      const ssize_t n = ::read(fd, chunk, sizeof(chunk));
      if (n <= 0) return std::string();
      buffer.append(chunk, static_cast<size_t>(n));
    }
    std::string head = buffer.substr(0, end + 4);
    buffer.erase(0, end + 4);
    return head;
  };
  const std::string request = " /open311/v2/discovery.xml HTTP/1.1\r\nHost: x\r\n\r\n";
  ASSERT_EQ(::send(fd, ("HEAD" + request).data(), request.size() + 4, MSG_NOSIGNAL),
            static_cast<ssize_t>(request.size() + 4));
  const std::string head = read_head();
  EXPECT_THAT(head, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(head, HasSubstr("Content-Length: " + std::to_string(get.size()) + "\r\n"));
  ASSERT_EQ(::send(fd, ("GET" + request).data(), request.size() + 3, MSG_NOSIGNAL),
            static_cast<ssize_t>(request.size() + 3));
  // A body after the HEAD answer would be read here in place of the GET's status line.
  EXPECT_THAT(read_head(), StartsWith("HTTP/1.1 200 OK\r\n"));
  ::close(fd);
}

TEST_F(Open311Test, ServicesListInBothFormats) {
  const auto j = Get("services.json");
  ASSERT_EQ(j.status, 200) << j.body;
  const auto list = json::parse(j.body);
  ASSERT_TRUE(list.is_array());
  ASSERT_EQ(list.size(), 8u);
  json pothole;
  for (const auto& s : list) {
    EXPECT_TRUE(s["service_code"].is_string());
    for (const char* key :
         {"service_name", "description", "metadata", "type", "keywords", "group"}) {
      EXPECT_TRUE(s.contains(key)) << key;
    }
    if (s["service_code"] == "pothole") pothole = s;
  }
  EXPECT_EQ(pothole["service_name"], "Schlagloch");
  EXPECT_EQ(pothole["metadata"], true);
  EXPECT_EQ(pothole["type"], "realtime");
  const auto x = Get("services.xml");
  ASSERT_EQ(x.status, 200);
  Xml xml(x.body);
  EXPECT_EQ(xml.root(), "services");
  EXPECT_EQ(xml.Count("/services/service"), 8);
  EXPECT_EQ(xml.Text("/services/service[service_code='pothole']/service_name"), "Schlagloch");
  EXPECT_EQ(xml.Text("/services/service[service_code='overflowing_bin']/metadata"), "false");
  // English names on request.
  EXPECT_THAT(Get("services.json?locale=en").body, HasSubstr("\"Pothole\""));
}

TEST_F(Open311Test, ServiceDefinitionInBothFormats) {
  const auto j = Get("services/illegal_dumping.json");
  ASSERT_EQ(j.status, 200) << j.body;
  const auto def = json::parse(j.body);
  EXPECT_EQ(def["service_code"], "illegal_dumping");
  ASSERT_EQ(def["attributes"].size(), 2u);
  EXPECT_EQ(def["attributes"][0]["code"], "waste_types");
  EXPECT_EQ(def["attributes"][0]["datatype"], "multivaluelist");
  EXPECT_EQ(def["attributes"][0]["required"], true);
  EXPECT_EQ(def["attributes"][0]["values"].size(), 5u);
  const auto x = Get("services/illegal_dumping.xml");
  ASSERT_EQ(x.status, 200);
  Xml xml(x.body);
  EXPECT_EQ(xml.root(), "service_definition");
  EXPECT_EQ(xml.Count("/service_definition/attributes/attribute"), 2);
  EXPECT_EQ(xml.Count("/service_definition/attributes/attribute[code='waste_types']/values/value"),
            5);
  EXPECT_EQ(xml.Text("/service_definition/attributes/attribute[code='amount_m3']/datatype"),
            "number");
  // Unknown codes are unknown resources.
  ExpectError(Get("services/volcano.json"), 404, "json", "service_code");
  ExpectError(Get("services/volcano.xml"), 404, "xml", "service_code");
  ExpectError(Get("services/Bad%20Code.xml"), 404, "xml", "service_code");
}

TEST_F(Open311Test, JurisdictionIsRequiredWithTwoAndUnknownOnesAreNotFound) {
  ExpectError(Get("services.json", false), 400, "json", "jurisdiction_id");
  ExpectError(Get("services.xml?jurisdiction_id=atlantis.example", false), 404, "xml",
              "jurisdiction_id");
  EXPECT_EQ(Get("services.json?jurisdiction_id=guetersloh.de", false).status, 200);
}

// A request filed straight into the store, `age` ago, in `jurisdiction`.
std::string FileLongAgo(Stack& stack, std::chrono::hours age, const std::string& jurisdiction) {
  infra::redis::Client redis(stack.redis().ClientOptions());
  requests::RequestStore store(redis);
  const auto filed = std::chrono::system_clock::now() - age;
  storage::requests::StoredRequest r;
  r.set_id(infra::NewUlid(filed));
  r.set_jurisdiction_id(jurisdiction);
  r.set_service_code("tree");
  r.set_department("parks");
  r.set_status(1);  // SUBMITTED
  r.set_has_location(true);
  r.set_lat(jurisdiction == kCity ? 52.02 : 51.90);
  r.set_long_(jurisdiction == kCity ? 8.53 : 8.38);
  r.set_description("Ein alter Baum droht umzustürzen");
  r.set_requested_ms(infra::UnixMillis(filed));
  r.set_updated_ms(infra::UnixMillis(filed));
  r.set_expected_ms(infra::UnixMillis(filed) + 3'600'000);
  r.set_source("app");
  EXPECT_TRUE(store.Create(r, {}, "", std::chrono::seconds(0)).ok());
  return r.id();
}

std::string W3c(std::chrono::system_clock::time_point t) {
  const time_t seconds = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

TEST_F(Open311Test, WithoutDatesTheListIsTheLast90Days) {
  const std::string old_id = FileLongAgo(*stack_, std::chrono::hours(24 * 91), kCity);
  const std::string recent_id = FileLongAgo(*stack_, std::chrono::hours(24 * 89), kCity);
  std::vector<std::string> listed;
  for (const auto& r : json::parse(Get("requests.json?service_code=tree&page_size=1000").body)) {
    listed.push_back(r["service_request_id"]);
  }
  EXPECT_THAT(listed, ::testing::Contains(recent_id));
  EXPECT_THAT(listed, ::testing::Not(::testing::Contains(old_id)));
  // Asked for by its dates, or by its id, the old one is there.
  const auto now = std::chrono::system_clock::now();
  const auto dated = json::parse(
      Get("requests.json?service_code=tree&start_date=" + W3c(now - std::chrono::hours(24 * 92)) +
          "&end_date=" + W3c(now - std::chrono::hours(24 * 90)))
          .body);
  ASSERT_EQ(dated.size(), 1u);
  EXPECT_EQ(dated[0]["service_request_id"], old_id);
  EXPECT_EQ(Get("requests/" + old_id + ".json").status, 200);
}

TEST_F(Open311Test, JurisdictionRulesHoldForPostsAndSingleRequests) {
  auto fields = Pothole();
  fields.erase(fields.begin());  // no jurisdiction_id, with two configured
  ASSERT_NE(fields.front().first, "jurisdiction_id");
  ExpectError(Post("json", fields), 400, "json", "jurisdiction_id");
  fields.insert(fields.begin(), {"jurisdiction_id", "atlantis.example"});
  ExpectError(Post("xml", fields), 404, "xml", "jurisdiction_id");
  // A request of the other city is not found under this one.
  const std::string elsewhere = FileLongAgo(*stack_, std::chrono::hours(1), "guetersloh.de");
  ExpectError(Get("requests/" + elsewhere + ".json"), 404, "json", "");
  EXPECT_EQ(Get("requests/" + elsewhere + ".json?jurisdiction_id=guetersloh.de", false).status,
            200);
}

TEST_F(Open311Test, PostCreatesARequestVisibleInBothApis) {
  const auto r = Post("xml", Pothole());
  ASSERT_EQ(r.status, 201) << r.body;
  Xml xml(r.body);
  EXPECT_EQ(xml.root(), "service_requests");
  const std::string id = xml.Text("/service_requests/request/service_request_id");
  ASSERT_EQ(id.size(), 26u);
  EXPECT_EQ(xml.Text("/service_requests/request/account_id"), "fms-4711");
  EXPECT_EQ(xml.Count("/service_requests/request/service_notice"), 1);

  // The v1 API shows it, without the reporter's contact to the public.
  const auto v1 = api_->Call("GET", "/v1/requests/" + id);
  ASSERT_EQ(v1.status, 200) << v1.raw.body;
  EXPECT_EQ(v1.json["service_code"], "pothole");
  EXPECT_EQ(v1.json["attributes"]["surface"], "road");
  EXPECT_THAT(v1.raw.body, ::testing::Not(HasSubstr("melderin@example.de")));
  // Staff see the contact and the partner's account id.
  const auto staff = api_->Call("GET", "/v1/requests/" + id, nullptr, operator_);
  EXPECT_EQ(staff.json["contact"]["email"], "melderin@example.de");
  EXPECT_EQ(staff.json["contact"]["partner_account_id"], "fms-4711");

  // Open311 reads it back in both formats, without private data.
  const auto one = Get("requests/" + id + ".json");
  ASSERT_EQ(one.status, 200) << one.body;
  const auto got = json::parse(one.body);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0]["service_request_id"], id);
  EXPECT_EQ(got[0]["status"], "open");
  EXPECT_EQ(got[0]["service_code"], "pothole");
  EXPECT_EQ(got[0]["agency_responsible"], "roads");
  EXPECT_DOUBLE_EQ(got[0]["lat"].get<double>(), 52.0211);
  EXPECT_THAT(got[0]["requested_datetime"].get<std::string>(), ::testing::EndsWith("Z"));
  EXPECT_FALSE(got[0]["expected_datetime"].is_null());
  for (const char* key :
       {"status_notes", "service_name", "description", "service_notice", "updated_datetime",
        "address", "address_id", "zipcode", "long", "media_url"}) {
    EXPECT_TRUE(got[0].contains(key)) << key;
  }
  EXPECT_THAT(one.body, ::testing::Not(HasSubstr("melderin")));
  EXPECT_THAT(one.body, ::testing::Not(HasSubstr("Mustermann")));
  EXPECT_THAT(one.body, ::testing::Not(HasSubstr("fms-4711")));
  Xml back(Get("requests/" + id + ".xml").body);
  EXPECT_EQ(back.Text("/service_requests/request/service_request_id"), id);
  EXPECT_EQ(back.Text("/service_requests/request/status"), "open");
  EXPECT_EQ(back.Text("/service_requests/request/description"), "Schlagloch vor der Sparrenburg");

  // The token resource answers with the id (requests are created at once).
  const auto token = json::parse(Get("tokens/" + id + ".json").body);
  EXPECT_EQ(token[0]["service_request_id"], id);
  Xml token_xml(Get("tokens/" + id + ".xml").body);
  EXPECT_EQ(token_xml.Text("/service_requests/request/token"), id);
  ExpectError(Get("tokens/01JUNKJUNKJUNKJUNKJUNKJUNK.json"), 404, "json", "");
  ExpectError(Get("requests/not-an-id.xml"), 404, "xml", "service_request_id");
}

TEST_F(Open311Test, StatusChangesShowAsOpenAndClosedWithPublicNotes) {
  // Filed through v1 by a resident app, handled by an operator, read through Open311.
  const auto created = api_->Call("POST", "/v1/requests",
                                  {{"service_code", "pothole"},
                                   {"lat", 52.03},
                                   {"long", 8.54},
                                   {"attributes", {{"surface", "cycle_path"}}},
                                   {"description", "Radweg kaputt"}});
  ASSERT_EQ(created.status, 201) << created.raw.body;
  const std::string id = created.json["request_id"];
  EXPECT_EQ(json::parse(Get("requests/" + id + ".json").body)[0]["status"], "open");
  auto t = api_->Call("POST", "/v1/requests/" + id + ":transition", {{"status", "ACKNOWLEDGED"}},
                      operator_);
  ASSERT_EQ(t.status, 200) << t.raw.body;
  t = api_->Call("POST", "/v1/requests/" + id + ":transition",
                 {{"status", "IN_PROGRESS"},
                  {"public_note", "Kolonne ist unterwegs"},
                  {"internal_note", "Trupp 3"}},
                 operator_);
  ASSERT_EQ(t.status, 200) << t.raw.body;
  auto got = json::parse(Get("requests/" + id + ".json").body)[0];
  EXPECT_EQ(got["status"], "open");
  EXPECT_EQ(got["status_notes"], "Kolonne ist unterwegs");
  t = api_->Call("POST", "/v1/requests/" + id + ":transition",
                 {{"status", "RESOLVED"},
                  {"public_note", "Loch ist geflickt"},
                  {"internal_note", "Kosten 80 EUR"}},
                 operator_);
  ASSERT_EQ(t.status, 200) << t.raw.body;
  const auto x = Get("requests/" + id + ".xml");
  Xml xml(x.body);
  EXPECT_EQ(xml.Text("/service_requests/request/status"), "closed");
  EXPECT_EQ(xml.Text("/service_requests/request/status_notes"), "Loch ist geflickt");
  EXPECT_THAT(x.body, ::testing::Not(HasSubstr("Kosten")));
  // The status filter agrees.
  const auto closed = json::parse(Get("requests.json?status=closed&service_code=pothole").body);
  bool found = false;
  for (const auto& r : closed) {
    EXPECT_EQ(r["status"], "closed");
    found = found || r["service_request_id"] == id;
  }
  EXPECT_TRUE(found);
  for (const auto& r : json::parse(Get("requests.json?status=open").body))
    EXPECT_EQ(r["status"], "open");
  ExpectError(Get("requests.json?status=pending"), 400, "json", "status");
}

TEST_F(Open311Test, MultiValueAttributesAndAddressOnlyLocations) {
  auto fields = std::vector<std::pair<std::string, std::string>>{
      {"jurisdiction_id", kCity},
      {"api_key", api_key_},
      {"service_code", "illegal_dumping"},
      {"address_string", "Jahnplatz 5, 33602 Bielefeld"},
      {"attribute[waste_types][]", "bulky"},
      {"attribute[waste_types][]", "tyres"},
      {"attribute[amount_m3]", "2.5"},
      {"media_url", "https://fixmystreet.example/photo/1.jpeg"}};
  const auto r = Post("json", fields);
  ASSERT_EQ(r.status, 201) << r.body;
  const std::string id = json::parse(r.body)[0]["service_request_id"];
  const auto v1 = api_->Call("GET", "/v1/requests/" + id);
  ASSERT_EQ(v1.status, 200);
  EXPECT_EQ(v1.json["attributes"]["waste_types"], json::array({"bulky", "tyres"}));
  EXPECT_EQ(v1.json["attributes"]["amount_m3"], 2.5);
  EXPECT_EQ(v1.json["address"], "Jahnplatz 5, 33602 Bielefeld");
  const auto got = json::parse(Get("requests/" + id + ".json").body)[0];
  EXPECT_TRUE(got["lat"].is_null());
  EXPECT_EQ(got["address"], "Jahnplatz 5, 33602 Bielefeld");
  EXPECT_EQ(got["media_url"], "https://fixmystreet.example/photo/1.jpeg");

  // One key for a multi-value list is a list of one; keys outside the list are refused.
  fields[4] = {"attribute[waste_types]", "electronics"};
  fields.erase(fields.begin() + 5);
  EXPECT_EQ(Post("json", fields).status, 201);
  fields[4] = {"attribute[waste_types][]", "plutonium"};
  ExpectError(Post("json", fields), 400, "json", "waste_types");
  fields[4] = {"attribute[colour]", "red"};
  ExpectError(Post("xml", fields), 400, "xml", "colour");
}

TEST_F(Open311Test, PostErrorsFollowTheSpec) {
  auto without = [](std::vector<std::string> names) {
    auto f = Pothole();
    std::erase_if(f, [&](const auto& p) {
      return std::find(names.begin(), names.end(), p.first) != names.end();
    });
    return f;
  };
  ExpectError(Post("json", without({"api_key"})), 403, "json", "api_key");
  ExpectError(Post("xml", without({"api_key"})), 403, "xml", "api_key");
  auto bad = Pothole();
  bad[1].second = "not-a-key-" + std::string(20, 'x');
  ExpectError(Post("json", bad), 403, "json", "api_key");
  ExpectError(Post("xml", bad), 403, "xml", "api_key");
  // The key comes first: without a valid one, nothing tells what else is wrong with the form.
  auto bad_form = std::vector<std::pair<std::string, std::string>>{
      {"api_key", bad[1].second}, {"lat", "x"}, {"attribute[colour]", "red"}, {"password", "x"}};
  ExpectError(Post("json", bad_form), 403, "json", "api_key");
  ExpectError(Post("xml", bad_form), 403, "xml", "api_key");
  bad_form.erase(bad_form.begin());
  ExpectError(Post("json", bad_form), 403, "json", "api_key");
  ExpectError(Post("json", without({"lat", "long"})), 400, "json", "location");
  ExpectError(Post("xml", without({"lat", "long"})), 400, "xml", "location");
  ExpectError(Post("json", without({"long"})), 400, "json", "lat");
  auto unknown = Pothole();
  unknown[2].second = "volcano";
  ExpectError(Post("json", unknown), 400, "json", "service_code");
  ExpectError(Post("xml", unknown), 400, "xml", "service_code");
  ExpectError(Post("json", without({"service_code"})), 400, "json", "service_code");
  ExpectError(Post("json", without({"attribute[surface]"})), 400, "json", "surface");
  auto outside = Pothole();
  outside[3].second = "48.1";  // Munich
  outside[4].second = "11.5";
  ExpectError(Post("json", outside), 400, "json", "lat");
  auto long_text = Pothole();
  long_text[6].second = std::string(4001, 'x');
  ExpectError(Post("json", long_text), 400, "json", "description");
  auto extra = Pothole();
  extra.emplace_back("password", "x");
  ExpectError(Post("json", extra), 400, "json", "password");
  auto nameless = Pothole();  // "=2": a field without a name (found by open311_fuzz)
  nameless.emplace_back("", "2");
  ExpectError(Post("json", nameless), 400, "json", "form: a field without a name");
  auto bad_url = Pothole();
  bad_url.emplace_back("media_url", "javascript:alert(1)");
  ExpectError(Post("json", bad_url), 400, "json", "media_url");
  auto bad_mail = Pothole();
  bad_mail[7].second = "nobody";
  ExpectError(Post("json", bad_mail), 400, "json", "email");
  // JSON bodies are not what the spec posts.
  const auto as_json = HttpRequest("POST", stack_->gateway_url() + "/open311/v2/requests.json",
                                   "{}", {"Content-Type: application/json"});
  ExpectError(as_json, 400, "json", "x-www-form-urlencoded");
  // A revoked key stops working at once.
  auto key = api_->Call("POST", "/v1/apiKeys", {{"name", "Einmal-Partner"}}, admin_);
  ASSERT_EQ(key.status, 201);
  auto with_key = Pothole();
  with_key[1].second = key.json["api_key"];
  EXPECT_EQ(Post("json", with_key).status, 201);
  ASSERT_EQ(api_->Call("DELETE", "/v1/apiKeys/" + key.json["api_key_id"].get<std::string>(),
                       nullptr, admin_)
                .status,
            200);
  ExpectError(Post("json", with_key), 403, "json", "api_key");
}

TEST_F(Open311Test, UnknownResourcesAndMethods) {
  ExpectError(Get("nothing.json"), 404, "json", "no such resource");
  ExpectError(Get("services"), 404, "json", ".json or .xml");
  ExpectError(Get("services/pothole/extra.xml"), 404, "xml", "no such resource");
  const auto del = HttpRequest("DELETE", stack_->gateway_url() + "/open311/v2/requests.json");
  ExpectError(del, 405, "json", "DELETE");
  EXPECT_EQ(del.header("allow"), "GET, POST");
  // Parameters a resource does not take are ignored (clients send the spec's extensions);
  // malformed known ones are still refused.
  EXPECT_EQ(Get("services.json?colour=red").status, 200);
  EXPECT_EQ(Get("requests.json?lat=52.02&long=8.53&radius=500&extensions=true").status, 200);
  ExpectError(Get("requests.json?page_size=many&extensions=true"), 400, "json", "page_size");
  // A date alone, as the spec's examples send it.
  EXPECT_EQ(Get("requests.json?start_date=2026-11-01").status, 200);
  ExpectError(Get("requests.json?start_date=2026-13-01"), 400, "json", "start_date");
}

TEST_F(Open311Test, ListFiltersDatesAndPaging) {
  // More than the spec's cap of 1 000 results, in a category of their own.
  std::vector<std::string> ids;
  for (int i = 0; i < 1005; ++i) {
    const auto r = api_->Call("POST", "/v1/requests",
                              {{"service_code", "graffiti"},
                               {"lat", 52.0 + i * 0.00001},
                               {"long", 8.5},
                               {"attributes", {{"offensive", "no"}}}});
    ASSERT_EQ(r.status, 201) << r.raw.body;
    ids.push_back(r.json["request_id"]);
  }
  const auto all_response = Get("requests.json?service_code=graffiti");
  const auto all = json::parse(all_response.body);
  ASSERT_EQ(all.size(), 1000u) << all_response.body.substr(0, 300);
  EXPECT_EQ(all[0]["service_request_id"], ids.back());  // newest first
  for (const auto& r : all) EXPECT_EQ(r["service_code"], "graffiti");
  const auto page2 = json::parse(Get("requests.json?service_code=graffiti&page=2").body);
  ASSERT_EQ(page2.size(), 5u);
  EXPECT_EQ(page2[4]["service_request_id"], ids.front());
  const auto small =
      json::parse(Get("requests.json?service_code=graffiti&page=3&page_size=10").body);
  ASSERT_EQ(small.size(), 10u);
  EXPECT_EQ(small[0]["service_request_id"], ids[ids.size() - 21]);
  Xml xml(Get("requests.xml?service_code=graffiti,pothole&page_size=25").body);
  EXPECT_EQ(xml.root(), "service_requests");
  EXPECT_EQ(xml.Count("/service_requests/request"), 25);
  EXPECT_EQ(xml.Count("/service_requests/request/service_request_id"), 25);
  ExpectError(Get("requests.json?page_size=1001"), 400, "json", "page_size");
  ExpectError(Get("requests.json?page=0"), 400, "json", "page");

  // service_request_id overrides every other filter.
  const auto picked = json::parse(
      Get("requests.json?service_code=pothole&status=closed&service_request_id=" + ids[3] + "," +
          ids[7])
          .body);
  ASSERT_EQ(picked.size(), 2u);

  // Dates: W3C with a zone, at most 90 days apart, the last 90 days by default.
  const auto in_range =
      Get("requests.json?service_code=graffiti&page_size=5&start_date=2026-01-01T00:00:00%2B01:00"
          "&end_date=2026-03-31T23:00:00Z");
  ASSERT_EQ(in_range.status, 200) << in_range.body;
  EXPECT_EQ(json::parse(in_range.body).size(), 0u);  // long before these were filed
  ExpectError(Get("requests.json?start_date=2026-01-01T00:00:00Z&end_date=2026-04-02T00:00:00Z"),
              400, "json", "90 days");
  ExpectError(Get("requests.xml?start_date=2026-02-30"), 400, "xml", "start_date");
  ExpectError(Get("requests.json?start_date=2026-03-01T00:00:00Z&end_date=2026-02-01T00:00:00Z"),
              400, "json", "before");
  // An end date alone means the 90 days before it: today's requests are in.
  const auto recent = json::parse(
      Get("requests.json?service_code=graffiti&page_size=3&end_date=2099-01-01T00:00:00Z").body);
  EXPECT_EQ(recent.size(), 0u);
  const auto start_only = json::parse(
      Get("requests.json?service_code=graffiti&page_size=3&start_date=2026-01-01T00:00:00Z").body);
  EXPECT_EQ(start_only.size(), 0u);  // 90 days after 1 January end before today
}

// POST files new requests: it spends the creation budget (shared with POST /v1/requests), not
// the budget of other writes.
TEST(Open311RateLimits, PostsWithoutAGoodKeySpendTheAddressesWriteBudget) {
  Stack::Options options;
  options.notifications = false;
  options.env = {{"CITYHUB_RATE_LIMIT_ANONYMOUS_WRITE", "2/min"},
                 {"CITYHUB_RATE_LIMIT_PARTNER", "1000/min,burst=1000"}};
  Stack stack(options);
  const std::string url = stack.gateway_url() + "/open311/v2/requests.json";
  const std::string form =
      "jurisdiction_id=bielefeld.de&api_key=not-a-key&service_code=pothole&lat=52.02&long=8.53";
  const std::vector<std::string> type = {"Content-Type: application/x-www-form-urlencoded"};
  EXPECT_EQ(HttpRequest("POST", url, form, type).status, 403);
  EXPECT_EQ(HttpRequest("POST", url, "api_key=" + std::string(200, 'k'), type).status,
            403);  // too long
  const auto limited = HttpRequest("POST", url, form, type);
  EXPECT_EQ(limited.status, 429) << limited.body;
  EXPECT_GE(std::stoi(limited.header("retry-after").empty() ? "0" : limited.header("retry-after")),
            1);
  // Reads are not affected.
  EXPECT_EQ(HttpRequest("GET", stack.gateway_url() + "/open311/v2/services.json").status, 200);
}

// A deep page walks many pages of the service: it costs one read unit for each of them, not one
// for the whole answer (page=10&page_size=1000 was 100 backend calls for one unit).
TEST(Open311RateLimits, ADeepPageCostsOneReadUnitPerBackendPage) {
  Stack::Options options;
  options.notifications = false;
  options.env = {{"CITYHUB_RATE_LIMIT_ANONYMOUS_READ", "1/min,burst=20"}};
  Stack stack(options);
  const std::string url = stack.gateway_url() + "/open311/v2/requests.json";
  // Small pages cost one unit each.
  for (int i = 0; i < 5; ++i) EXPECT_EQ(HttpRequest("GET", url + "?page_size=50").status, 200) << i;
  // 10 × 1000 results from the newest: 100 pages of the service, far over a burst of 20.
  const auto deep = HttpRequest("GET", url + "?page=10&page_size=1000");
  EXPECT_EQ(deep.status, 429) << deep.body;
  EXPECT_GE(std::stoi(deep.header("retry-after").empty() ? "0" : deep.header("retry-after")), 1);
}

// A partner files for many residents from one address: it has a budget of its own, by key.
TEST(Open311RateLimits, EachPartnerHasItsOwnBudget) {
  Stack::Options options;
  options.notifications = false;
  options.env = {{"CITYHUB_RATE_LIMIT_PARTNER", "2/min"},
                 {"CITYHUB_RATE_LIMIT_WRITE", "1000/min,burst=1000"},
                 {"CITYHUB_RATE_LIMIT_CREATE", "1000/min,burst=1000"}};
  Stack stack(options);
  Api api(stack.gateway_url());
  const std::string admin = api.SignIn(stack.admin_email(), stack.admin_password());
  const auto key = [&](const std::string& name) {
    return api.Call("POST", "/v1/apiKeys", {{"name", name}}, admin)
        .json["api_key"]
        .get<std::string>();
  };
  const std::string first = key("Partner A"), second = key("Partner B");
  const std::string url = stack.gateway_url() + "/open311/v2/requests.json";
  const std::vector<std::string> type = {"Content-Type: application/x-www-form-urlencoded"};
  const auto post = [&](const std::string& api_key) {
    return HttpRequest(
        "POST", url,
        "api_key=" + api_key + "&service_code=pothole&lat=52.02&long=8.53&attribute[surface]=road",
        type);
  };
  EXPECT_EQ(post(first).status, 201);
  EXPECT_EQ(post(first).status, 201);
  const auto limited = post(first);
  EXPECT_EQ(limited.status, 429) << limited.body;
  EXPECT_THAT(limited.body, ::testing::HasSubstr("partner"));
  EXPECT_EQ(post(second).status, 201);  // another partner, same address
  // Residents filing through the v1 API are not affected.
  EXPECT_EQ(api.Call("POST", "/v1/requests",
                     {{"service_code", "pothole"},
                      {"lat", 52.02},
                      {"long", 8.53},
                      {"attributes", {{"surface", "road"}}}})
                .status,
            201);
}

}  // namespace
}  // namespace cityhub::testing
