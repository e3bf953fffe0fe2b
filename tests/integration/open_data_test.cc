// Issue #15, open data, end to end through the gateway over real HTTP with the whole stack:
// GET /v1/requests:export as GeoJSON (RFC 7946) and CSV (RFC 4180, read back by a strict parser
// written here), streamed chunked and paged by Link rel=next; no private field of a request that
// has every one of them set appears in either format; the list filters; errors naming the field.
// And the Open311 extensions of GET requests: lat/long/radius, district, extensions=true.
#include <algorithm>
#include <optional>
#include <regex>
#include <set>
#include <string_view>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/harness/api.h"
#include "tests/harness/images.h"
#include "tests/harness/stack.h"

namespace cityhub::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using json = nlohmann::json;
using Rows = std::vector<std::vector<std::string>>;

constexpr char kLicense[] = "dl-de/by-2-0";

// RFC 4180, strictly: every record (the last too) ends in CRLF; a field is either quoted (a
// quote inside doubled; commas, CR and LF allowed) or holds none of comma, quote, CR and LF.
// nullopt for anything else.
std::optional<Rows> ParseCsv(std::string_view s) {
  Rows rows;
  std::vector<std::string> row;
  size_t i = 0;
  while (i < s.size()) {
    std::string field;
    if (s[i] == '"') {
      ++i;
      while (true) {
        if (i >= s.size()) return std::nullopt;  // an unterminated quote
        if (s[i] == '"') {
          if (i + 1 < s.size() && s[i + 1] == '"') {
            field += '"';
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        field += s[i++];
      }
    } else {
      while (i < s.size() && s[i] != ',' && s[i] != '\r') {
        if (s[i] == '"' || s[i] == '\n') return std::nullopt;
        field += s[i++];
      }
    }
    row.push_back(std::move(field));
    if (i < s.size() && s[i] == ',') {
      ++i;
      if (i == s.size()) return std::nullopt;
      continue;
    }
    if (s.substr(i, 2) != "\r\n") return std::nullopt;
    i += 2;
    rows.push_back(std::move(row));
    row.clear();
  }
  return rows;
}

// A position [lon, lat] of RFC 7946: two finite numbers, the longitude first.
void ExpectPoint(const json& geometry) {
  ASSERT_TRUE(geometry.is_object()) << geometry;
  EXPECT_EQ(geometry["type"], "Point");
  ASSERT_TRUE(geometry["coordinates"].is_array());
  ASSERT_EQ(geometry["coordinates"].size(), 2u);
  EXPECT_TRUE(geometry["coordinates"][0].is_number());
  EXPECT_TRUE(geometry["coordinates"][1].is_number());
}

// RFC 7946's structure of a FeatureCollection: its "type", a "features" array of Features
// (each with "type", "geometry" an object or null, "properties" an object or null), and no
// member of a Feature or Geometry used as a foreign member name at the top.
void ExpectFeatureCollection(const json& doc) {
  ASSERT_TRUE(doc.is_object());
  EXPECT_EQ(doc["type"], "FeatureCollection");
  ASSERT_TRUE(doc["features"].is_array());
  for (const char* reserved : {"geometry", "properties", "coordinates", "geometries"})
    EXPECT_FALSE(doc.contains(reserved)) << reserved;
  for (const auto& f : doc["features"]) {
    EXPECT_EQ(f["type"], "Feature");
    ASSERT_TRUE(f.contains("geometry"));
    if (!f["geometry"].is_null()) ExpectPoint(f["geometry"]);
    ASSERT_TRUE(f["properties"].is_object());
    EXPECT_TRUE(f["id"].is_string());
  }
}

class OpenData : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    Stack::Options options;
    options.env = {{"CITYHUB_OPEN_DATA_LICENSE", kLicense},
                   {"CITYHUB_RATE_LIMIT_SIGN_IN", "500/min,burst=100"},
                   {"CITYHUB_RATE_LIMIT_CREATE", "1000/min,burst=200"},
                   {"CITYHUB_RATE_LIMIT_READ", "5000/min,burst=1000"},
                   {"CITYHUB_RATE_LIMIT_WRITE", "5000/min,burst=1000"}};
    stack_ = new Stack(options);
    api_ = new Api(stack_->gateway_url());
    admin_ = api_->SignIn(stack_->admin_email(), stack_->admin_password());
    operator_ = api_->NewOperator(stack_->smtp(), "strassen@bielefeld.de", {"roads"}, admin_);
  }
  static void TearDownTestSuite() {
    delete api_;
    delete stack_;
  }

  static json Pothole(double lat, double lon, const std::string& description) {
    return {{"service_code", "pothole"},
            {"lat", lat},
            {"long", lon},
            {"attributes", {{"surface", "road"}}},
            {"description", description}};
  }
  static std::string Create(const json& body, const std::string& token = "") {
    const auto r = api_->Call("POST", "/v1/requests", body, token);
    EXPECT_EQ(r.status, 201) << r.raw.body;
    return r.json.value("request_id", "");
  }
  static HttpResponse Get(const std::string& path) {
    return HttpRequest("GET", stack_->gateway_url() + path, "", {}, std::chrono::seconds(60));
  }
  // Every page of an export from `path` on, following Link rel=next; checks each page's
  // metadata agree. Returns the pages' bodies.
  static std::vector<std::string> AllPages(std::string path, bool geojson) {
    std::vector<std::string> pages;
    for (int i = 0; i < 1000; ++i) {
      const HttpResponse page = Get(path);
      EXPECT_EQ(page.status, 200) << path << ": " << page.body;
      if (page.status != 200) break;
      pages.push_back(page.body);
      const std::string next = page.header("x-next-page-token");
      const std::string link = page.header("link");
      if (geojson) {
        const json doc = json::parse(page.body);
        EXPECT_EQ(doc["next_page_token"], next.empty() ? json(nullptr) : json(next));
      }
      if (next.empty()) {
        EXPECT_EQ(link, "");
        break;
      }
      std::smatch m;
      EXPECT_TRUE(std::regex_match(link, m, std::regex("<([^>]*)>; rel=\"next\""))) << link;
      if (m.empty()) break;
      EXPECT_THAT(m[1].str(), HasSubstr("page_token=" + next));
      path = m[1].str();
    }
    return pages;
  }
  static std::vector<std::string> GeoJsonIds(const std::string& path) {
    std::vector<std::string> ids;
    for (const auto& body : AllPages(path, true)) {
      const json doc = json::parse(body);
      for (const auto& f : doc["features"]) ids.push_back(f["properties"]["request_id"]);
    }
    return ids;
  }
  static void ExpectField(const HttpResponse& r, const std::string& field) {
    EXPECT_EQ(r.status, 400) << field << ": " << r.body;
    EXPECT_THAT(r.body, HasSubstr(field + ":")) << r.body;
  }

  static Stack* stack_;
  static Api* api_;
  static std::string admin_, operator_;
};

Stack* OpenData::stack_ = nullptr;
Api* OpenData::api_ = nullptr;
std::string OpenData::admin_, OpenData::operator_;

TEST_F(OpenData, GeoJsonIsAFeatureCollectionWithLongitudeFirstAndTheLicence) {
  const std::string id = Create(Pothole(52.0301, 8.5402, "Schlagloch am Kesselbrink"));
  const HttpResponse r = Get("/v1/requests:export?format=geojson");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("content-type"), "application/geo+json");
  EXPECT_EQ(r.header("transfer-encoding"), "chunked");
  EXPECT_TRUE(std::regex_match(
      r.header("content-disposition"),
      std::regex(R"(attachment; filename="cityhub-requests-\d{4}-\d{2}-\d{2}\.geojson")")))
      << r.header("content-disposition");
  const json doc = json::parse(r.body);
  ExpectFeatureCollection(doc);
  EXPECT_EQ(doc["license"], kLicense);
  EXPECT_EQ(doc["jurisdiction_id"], "bielefeld.de");
  bool found = false;
  for (const auto& f : doc["features"]) {
    if (f["id"] != id) continue;
    found = true;
    EXPECT_DOUBLE_EQ(f["geometry"]["coordinates"][0].get<double>(), 8.5402);
    EXPECT_DOUBLE_EQ(f["geometry"]["coordinates"][1].get<double>(), 52.0301);
    EXPECT_EQ(f["properties"]["service_code"], "pothole");
    EXPECT_EQ(f["properties"]["status"], "SUBMITTED");
    EXPECT_EQ(f["properties"]["description"], "Schlagloch am Kesselbrink");
    EXPECT_TRUE(f["properties"]["requested_at"].is_string());
  }
  EXPECT_TRUE(found) << r.body;
}

TEST_F(OpenData, CsvParsesStrictlyWithQuotesCommasAndNewlinesInText) {
  const std::string text = "Laterne \"flackert\", seit Montag\nzweite Zeile, mit Komma\r\n\"Ende\"";
  const std::string id = Create(Pothole(52.0305, 8.5405, text));
  const std::string stored = api_->Call("GET", "/v1/requests/" + id).json.value("description", "");
  ASSERT_THAT(stored, HasSubstr("\"flackert\", seit"));
  const HttpResponse r = Get("/v1/requests:export?format=csv");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("content-type"), "text/csv; charset=utf-8; header=present");
  EXPECT_TRUE(std::regex_match(
      r.header("content-disposition"),
      std::regex(R"(attachment; filename="cityhub-requests-\d{4}-\d{2}-\d{2}\.csv")")));
  const auto rows = ParseCsv(r.body);
  ASSERT_TRUE(rows.has_value()) << r.body;
  ASSERT_GE(rows->size(), 2u);
  const auto& header = rows->front();
  for (const auto& row : *rows) ASSERT_EQ(row.size(), header.size()) << r.body;
  auto column = [&](const std::string& name) {
    return std::find(header.begin(), header.end(), name) - header.begin();
  };
  ASSERT_LT(column("license"), static_cast<long>(header.size()));
  const auto row = std::find_if(rows->begin() + 1, rows->end(),
                                [&](const auto& row) { return row[column("request_id")] == id; });
  ASSERT_NE(row, rows->end());
  EXPECT_EQ((*row)[column("description")], stored);
  EXPECT_EQ((*row)[column("lat")], "52.0305");
  EXPECT_EQ((*row)[column("long")], "8.5405");
  EXPECT_EQ((*row)[column("license")], kLicense);
  EXPECT_EQ((*row)[column("status")], "SUBMITTED");
}

TEST_F(OpenData, NoPrivateFieldOfARequestAppearsInEitherFormat) {
  const std::string first = "Wilhelmine", last = "Privatgeheim",
                    email = "wilhelmine@geheim.example", phone = "+49 521 998877";
  const std::string redacted = "Der Nachbar Herr Xaverius Kleinschmidt parkt hier immer";
  const std::string internal = "Intern: Bauhof-Ticket 4711-geheim";
  // An anonymous report with every contact detail and two photos.
  auto photo = [](int size) {
    const auto r =
        api_->Raw("POST", "/v1/media", TestPng(size, size, false), {"Content-Type: image/png"});
    EXPECT_EQ(r.status, 201) << r.raw.body;
    return r.json.value("media_id", "");
  };
  const std::string keep = photo(21), hide = photo(29);
  json body = Pothole(52.0311, 8.5411, redacted);
  body["media_ids"] = {keep, hide};
  body["contact"] = {
      {"first_name", first}, {"last_name", last}, {"email", email}, {"phone", phone}};
  const std::string id = Create(body);
  // Staff hide a photo, redact the description and note something internal.
  const auto moderated = api_->Call(
      "POST", "/v1/requests/" + id + ":moderate",
      {{"hide_media_ids", {hide}}, {"description", "Parkendes Auto"}, {"reason", "Grund-Xyzzy"}},
      operator_);
  ASSERT_EQ(moderated.status, 200) << moderated.raw.body;
  const auto moved = api_->Call(
      "POST", "/v1/requests/" + id + ":transition",
      {{"status", "ACKNOWLEDGED"}, {"public_note", "Wir schauen"}, {"internal_note", internal}},
      operator_);
  ASSERT_EQ(moved.status, 200) << moved.raw.body;
  // And a signed-in resident's report: their account is private too.
  std::string account;
  const std::string resident =
      api_->NewResident(stack_->smtp(), "privat@example.de", "de", nullptr, &account);
  const std::string own = Create(Pothole(52.0312, 8.5412, "Eigener Bericht"), resident);
  ASSERT_FALSE(account.empty());

  for (const std::string format : {"geojson", "csv"}) {
    // Staff get the public file too: it is published.
    for (const std::string& token : {std::string(), operator_}) {
      std::vector<std::string> headers;
      if (!token.empty()) headers.push_back("Authorization: Bearer " + token);
      const HttpResponse r = HttpRequest(
          "GET", stack_->gateway_url() + "/v1/requests:export?format=" + format, "", headers);
      ASSERT_EQ(r.status, 200) << r.body;
      EXPECT_THAT(r.body, HasSubstr(id));
      EXPECT_THAT(r.body, HasSubstr(own));
      EXPECT_THAT(r.body, HasSubstr("Parkendes Auto"));
      EXPECT_THAT(r.body, HasSubstr("Wir schauen"));
      EXPECT_THAT(r.body, HasSubstr(keep));
      for (const std::string& secret :
           {first, last, email, phone, redacted, std::string("Kleinschmidt"), internal,
            std::string("4711-geheim"), hide, account, std::string("Grund-Xyzzy")}) {
        EXPECT_THAT(r.body, Not(HasSubstr(secret))) << format << " shows " << secret;
      }
    }
  }
}

TEST_F(OpenData, PagesFollowTheLinkUntilEveryRequestWasExportedOnce) {
  for (int i = 0; i < 7; ++i)
    Create(Pothole(52.02 + i * 0.001, 8.52, "Seite " + std::to_string(i)));
  const std::vector<std::string> whole = GeoJsonIds("/v1/requests:export?format=geojson");
  ASSERT_GE(whole.size(), 7u);
  std::vector<std::string> paged = GeoJsonIds("/v1/requests:export?format=geojson&page_size=3");
  EXPECT_EQ(paged, whole);  // the same requests, newest first, none twice
  EXPECT_EQ(std::set<std::string>(paged.begin(), paged.end()).size(), paged.size());
  // CSV pages: the header on each, the rows in the same order.
  std::vector<std::string> csv_ids;
  for (const auto& body : AllPages("/v1/requests:export?page_size=4&format=csv", false)) {
    const auto rows = ParseCsv(body);
    ASSERT_TRUE(rows.has_value()) << body;
    ASSERT_GE(rows->size(), 1u);
    EXPECT_EQ(rows->front().front(), "request_id");
    for (size_t i = 1; i < rows->size(); ++i) csv_ids.push_back((*rows)[i][0]);
  }
  EXPECT_EQ(csv_ids, whole);
  // A full page is 10 000 at most.
  ExpectField(Get("/v1/requests:export?format=csv&page_size=10001"), "page_size");
}

TEST_F(OpenData, TheListFiltersSelectWhatIsExported) {
  const std::string near = Create(Pothole(52.0401, 8.5001, "Nah am Punkt"));
  // Inside the seeded boundary (services/requests/data/), ~6 km from `near`.
  const std::string far = Create(Pothole(52.0601, 8.5801, "Weit weg"));
  const std::string bin_id = Create({{"service_code", "overflowing_bin"},
                                     {"lat", 52.0402},
                                     {"long", 8.5002},
                                     {"description", "Mülleimer voll"}});
  ASSERT_EQ(api_->Call("POST", "/v1/requests/" + far + ":transition", {{"status", "ACKNOWLEDGED"}},
                       operator_)
                .status,
            200);
  auto ids = [](const std::string& query) {
    const auto v = GeoJsonIds("/v1/requests:export?format=geojson&" + query);
    return std::set<std::string>(v.begin(), v.end());
  };
  const auto around = ids("lat=52.0401&long=8.5001&radius_m=300");
  EXPECT_TRUE(around.contains(near));
  EXPECT_FALSE(around.contains(far));
  const auto potholes = ids("service_code=pothole");
  EXPECT_TRUE(potholes.contains(near) && potholes.contains(far));
  EXPECT_FALSE(potholes.contains(bin_id));
  EXPECT_TRUE(around.contains(bin_id));
  const auto both = ids("service_code=pothole&service_code=overflowing_bin");
  EXPECT_TRUE(both.contains(bin_id) && both.contains(near));
  const auto acknowledged = ids("status=ACKNOWLEDGED");
  EXPECT_TRUE(acknowledged.contains(far));
  EXPECT_FALSE(acknowledged.contains(near));
  EXPECT_TRUE(ids("since=2000-01-01T00:00:00Z&until=2001-01-01T00:00:00Z").empty());
  EXPECT_TRUE(ids("since=2000-01-01T00:00:00Z").contains(near));
  // Nobody's request lies in a district none was given.
  EXPECT_TRUE(ids("district=nirgendwo").empty());
}

TEST_F(OpenData, BadInputIsA400NamingTheField) {
  ExpectField(Get("/v1/requests:export"), "format");
  ExpectField(Get("/v1/requests:export?format=xml"), "format");
  ExpectField(Get("/v1/requests:export?format=csv&page_size=0x10"), "page_size");
  ExpectField(Get("/v1/requests:export?format=csv&page_token=nope"), "page_token");
  ExpectField(Get("/v1/requests:export?format=csv&lat=52.0"), "radius_m");
  ExpectField(
      Get("/v1/requests:export?format=csv&since=2026-02-01T00:00:00Z&until=2026-01-01T00:00:00Z"),
      "since");
  ExpectField(Get("/v1/requests:export?format=geojson&district=b%C3%A4d%20id"), "district");
  ExpectField(Get("/v1/requests:export?format=geojson&service_code=a%2Fb"), "service_code");
  EXPECT_EQ(Get("/v1/requests:export?format=csv&jurisdiction_id=elsewhere.de").status, 404);
}

// --- Open311 GET requests: the #15 extensions ----------------------------------------------

TEST_F(OpenData, Open311ListsRequestsNearAPointWithinTheRadius) {
  const std::string here = Create(Pothole(52.0501, 8.4801, "Hier"));
  const std::string there = Create(Pothole(52.0701, 8.4801, "Dort, 2 km weiter"));
  const auto r = api_->Call("GET", "/open311/v2/requests.json?lat=52.0501&long=8.4801&radius=500");
  ASSERT_EQ(r.status, 200) << r.raw.body;
  std::set<std::string> ids;
  for (const auto& o : r.json) ids.insert(o["service_request_id"].get<std::string>());
  EXPECT_TRUE(ids.contains(here));
  EXPECT_FALSE(ids.contains(there));
  const auto wide =
      api_->Call("GET", "/open311/v2/requests.json?lat=52.0501&long=8.4801&radius=5000");
  ASSERT_EQ(wide.status, 200) << wide.raw.body;
  ids.clear();
  for (const auto& o : wide.json) ids.insert(o["service_request_id"].get<std::string>());
  EXPECT_TRUE(ids.contains(here) && ids.contains(there));
}

TEST_F(OpenData, Open311ExtensionsCarryTheDistrictAndThePublicStatusHistory) {
  const std::string internal = "Intern: Kolonne 3 geheim";
  const std::string id = Create(Pothole(52.0551, 8.4851, "Verlauf"));
  ASSERT_EQ(api_->Call("POST", "/v1/requests/" + id + ":transition",
                       {{"status", "ACKNOWLEDGED"},
                        {"public_note", "Wird repariert"},
                        {"internal_note", internal}},
                       operator_)
                .status,
            200);
  const std::string query = "?lat=52.0551&long=8.4851&radius=50&extensions=true";
  const auto r = api_->Call("GET", "/open311/v2/requests.json" + query, nullptr, operator_);
  ASSERT_EQ(r.status, 200) << r.raw.body;
  EXPECT_THAT(r.raw.body, Not(HasSubstr(internal)));
  const auto it = std::find_if(r.json.begin(), r.json.end(),
                               [&](const json& o) { return o["service_request_id"] == id; });
  ASSERT_NE(it, r.json.end()) << r.raw.body;
  const json& ext = (*it)["extended_attributes"];
  ASSERT_TRUE(ext.is_object()) << r.raw.body;
  // The test stack seeds the Bielefeld districts (services/requests/data/); this point is in
  // Schildesche.
  EXPECT_EQ(ext.value("district", ""), "schildesche") << ext;
  ASSERT_EQ(ext["status_history"].size(), 2u) << ext;
  EXPECT_EQ(ext["status_history"][0]["status"], "SUBMITTED");
  EXPECT_EQ(ext["status_history"][1]["status"], "ACKNOWLEDGED");
  EXPECT_EQ(ext["status_history"][1]["note"], "Wird repariert");
  EXPECT_TRUE(std::regex_match(ext["status_history"][1]["changed_at"].get<std::string>(),
                               std::regex(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z)")));
  // Without extensions=true, the plain GeoReport object.
  const auto plain =
      api_->Call("GET", "/open311/v2/requests.json?lat=52.0551&long=8.4851&radius=50");
  ASSERT_EQ(plain.status, 200);
  for (const auto& o : plain.json) EXPECT_FALSE(o.contains("extended_attributes"));
  // The XML form: one status_change element per entry.
  const HttpResponse xml = Get("/open311/v2/requests.xml" + query);
  ASSERT_EQ(xml.status, 200) << xml.body;
  EXPECT_THAT(xml.body, HasSubstr("<extended_attributes><district>schildesche</district>"
                                  "<status_history><status_change><status>SUBMITTED</status>"));
  EXPECT_THAT(xml.body, HasSubstr("<note>Wird repariert</note>"));
}

TEST_F(OpenData, Open311ExtensionsRefuseBadValuesNamingTheParameter) {
  auto expect = [](const std::string& query, const std::string& field) {
    const auto r = api_->Call("GET", "/open311/v2/requests.json?" + query);
    EXPECT_EQ(r.status, 400) << query << ": " << r.raw.body;
    ASSERT_TRUE(r.json.is_array()) << r.raw.body;
    EXPECT_THAT(r.json[0].value("description", ""), HasSubstr(field + ":")) << r.raw.body;
  };
  expect("lat=52.05", "long");
  expect("long=8.5", "lat");
  expect("radius=100", "lat");
  expect("lat=91&long=8.5", "lat");
  expect("lat=52.05&long=8.5&radius=0", "radius");
  expect("lat=52.05&long=8.5&radius=20001", "radius");
  expect("lat=52.05&long=abc", "long");
  expect("district=b%C3%A4d", "district");
  expect("extensions=yes", "extensions");
}

}  // namespace
}  // namespace cityhub::testing
