// The requests service over real gRPC against a real Redis.
#include <atomic>
#include <set>
#include <thread>

#include <gmock/gmock.h>
#include <google/protobuf/util/time_util.h>
#include <gtest/gtest.h>

#include "infra/ids.h"
#include "services/requests/keys.h"
#include "services/requests/requests_test_fixture.h"
#include "tests/harness/images.h"

namespace cityhub::requests {
namespace {

namespace v1 = cityhub::requests::v1;
using google::protobuf::util::TimeUtil;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;
using namespace std::chrono_literals;

// --- catalogue ------------------------------------------------------------------------------

TEST_F(RequestsServiceTest, TheCatalogueSpeaksGermanAndEnglish) {
  v1::ListServicesRequest req;
  v1::ListServicesResponse de, en;
  ASSERT_TRUE(stub_->ListServices(Ctx().get(), req, &de).ok());
  req.set_language("en");
  ASSERT_TRUE(stub_->ListServices(Ctx().get(), req, &en).ok());
  ASSERT_EQ(de.services_size(), 8);
  std::map<std::string, std::string> names;
  for (const auto& s : en.services()) names[s.service_code()] = s.name();
  EXPECT_EQ(names["pothole"], "Pothole");
  v1::GetServiceRequest get;
  get.set_service_code("streetlight");
  v1::Service light;
  ASSERT_TRUE(stub_->GetService(Ctx().get(), get, &light).ok());
  EXPECT_EQ(light.name(), "Straßenbeleuchtung defekt");
  EXPECT_EQ(light.department(), "street-lighting");
  EXPECT_EQ(light.attributes(0).code(), "problem");
  get.set_service_code("nope");
  EXPECT_EQ(stub_->GetService(Ctx().get(), get, &light).error_code(), grpc::StatusCode::NOT_FOUND);
  req.set_language("fr");
  EXPECT_EQ(stub_->ListServices(Ctx().get(), req, &en).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  req.set_language("");
  req.set_jurisdiction_id("berlin.de");
  EXPECT_EQ(stub_->ListServices(Ctx().get(), req, &en).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(RequestsServiceTest, OnlyAdminsManageTheCatalogue) {
  v1::CreateServiceRequest create;
  auto* s = create.mutable_service();
  s->set_service_code("bench");
  s->mutable_names()->set_de("Parkbank beschädigt");
  s->set_department("parks");
  s->set_sla_hours(240);
  s->set_active(true);
  v1::Service out;
  EXPECT_EQ(stub_->CreateService(Ctx(kParks).get(), create, &out).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(stub_->CreateService(Ctx().get(), create, &out).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  ASSERT_TRUE(stub_->CreateService(Ctx(kAdmin).get(), create, &out).ok());
  EXPECT_EQ(stub_->CreateService(Ctx(kAdmin).get(), create, &out).error_code(),
            grpc::StatusCode::ALREADY_EXISTS);

  v1::UpdateServiceRequest update;
  update.set_service_code("bench");
  update.mutable_service()->set_sla_hours(48);
  update.mutable_update_mask()->add_paths("sla_hours");
  ASSERT_TRUE(stub_->UpdateService(Ctx(kAdmin).get(), update, &out).ok());
  EXPECT_EQ(out.sla_hours(), 48);
  EXPECT_EQ(out.names().de(), "Parkbank beschädigt");  // untouched
  update.mutable_service()->set_sla_hours(0);
  const grpc::Status bad = stub_->UpdateService(Ctx(kAdmin).get(), update, &out);
  EXPECT_EQ(bad.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(bad.error_message(), StartsWith("sla_hours:"));
  s->set_service_code("with space");
  const grpc::Status bad_code = stub_->CreateService(Ctx(kAdmin).get(), create, &out);
  EXPECT_THAT(bad_code.error_message(), StartsWith("service_code:"));
}

// --- filing ---------------------------------------------------------------------------------

TEST_F(RequestsServiceTest, ASignedInResidentFilesARequestWithAPhoto) {
  v1::UploadMediaRequest upload;
  upload.mutable_file()->set_data(cityhub::testing::TestJpeg(800, 600, true));
  upload.mutable_file()->set_content_type("image/jpeg");
  v1::Media media;
  ASSERT_TRUE(stub_->UploadMedia(Ctx(kAnna).get(), upload, &media).ok());
  EXPECT_EQ(media.content_type(), "image/jpeg");
  EXPECT_EQ(media.width(), 800);
  EXPECT_EQ(media.url(), "https://api.example/v1/media/" + media.media_id());

  v1::CreateRequestRequest req = NewRequest("streetlight");
  req.add_media_ids(media.media_id());
  req.set_address("Jahnplatz 5, 33602 Bielefeld");
  const v1::ServiceRequest r = File(kAnna, req);
  EXPECT_TRUE(infra::IsUlid(r.request_id()));
  EXPECT_EQ(r.status(), v1::SUBMITTED);
  EXPECT_EQ(r.service_name(), "Straßenbeleuchtung defekt");
  EXPECT_EQ(r.department(), "street-lighting");
  EXPECT_EQ(r.account_id(), kAnna.account_id);
  EXPECT_TRUE(r.is_own());
  EXPECT_EQ(r.media_urls(0), media.url());
  EXPECT_EQ(TimeUtil::TimestampToMilliseconds(r.expected_at()) -
                TimeUtil::TimestampToMilliseconds(r.requested_at()),
            120 * 3'600'000LL);
  EXPECT_THAT(r.service_notice(), HasSubstr("fünf Werktagen"));
  const auto events = Events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].request_created().request_id(), r.request_id());
  EXPECT_EQ(events[0].request_created().owner_account_id(), kAnna.account_id);
}

TEST_F(RequestsServiceTest, AnonymousContactDetailsAreNeverPublic) {
  v1::CreateRequestRequest req = NewRequest("pothole");
  req.mutable_contact()->set_email("anna@example.de");
  req.mutable_contact()->set_first_name("Anna");
  const v1::ServiceRequest filed = File(kNobody, req);
  EXPECT_TRUE(filed.account_id().empty());
  v1::GetRequestRequest get;
  get.set_request_id(filed.request_id());
  v1::ServiceRequest seen;
  ASSERT_TRUE(stub_->GetRequest(Ctx().get(), get, &seen).ok());
  EXPECT_FALSE(seen.has_contact());
  ASSERT_TRUE(stub_->GetRequest(Ctx(kBen).get(), get, &seen).ok());
  EXPECT_FALSE(seen.has_contact());
  v1::ServiceRequest staff;
  ASSERT_TRUE(
      stub_->GetRequest(Ctx(Operator("01JROADS000000000000000000", "roads")).get(), get, &staff)
          .ok());
  EXPECT_EQ(staff.contact().email(), "anna@example.de");
  EXPECT_THAT(Events()[0].DebugString(), Not(HasSubstr("anna@example.de")));
}

TEST_F(RequestsServiceTest, UnverifiedResidentsCannotFileUnderTheirName) {
  Who unverified = kAnna;
  unverified.verified = false;
  v1::ServiceRequest out;
  const grpc::Status s = stub_->CreateRequest(Ctx(unverified).get(), NewRequest("pothole"), &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(s.error_message(), HasSubstr("verify"));
}

TEST_F(RequestsServiceTest, BadInputIsRefusedNamingTheField) {
  struct Case {
    std::string name;
    std::function<void(v1::CreateRequestRequest&)> spoil;
    std::string field;
  };
  const std::vector<Case> cases = {
      {"unknown category", [](auto& r) { r.set_service_code("ufo_sighting"); }, "service_code"},
      {"missing required attribute", [](auto& r) { r.mutable_attributes()->clear_fields(); },
       "attributes.problem"},
      {"value not in list",
       [](auto& r) {
         (*r.mutable_attributes()->mutable_fields())["problem"].set_string_value("purple");
       },
       "attributes.problem"},
      {"lat 91", [](auto& r) { r.set_lat(91); }, "lat"},
      {"NaN", [](auto& r) { r.set_lat(std::nan("")); }, "lat"},
      {"long infinite", [](auto& r) { r.set_long_(INFINITY); }, "long"},
      {"outside the city",
       [](auto& r) {
         r.set_lat(52.52);
         r.set_long_(13.40);
       },
       "lat"},
      {"no location",
       [](auto& r) {
         r.clear_lat();
         r.clear_long_();
       },
       "lat"},
      {"4001-character description", [](auto& r) { r.set_description(std::string(4001, 'x')); },
       "description"},
      {"unknown photo", [](auto& r) { r.add_media_ids(std::string(64, 'a')); }, "media_ids"},
      {"malformed photo id", [](auto& r) { r.add_media_ids("../../etc/passwd"); }, "media_ids"},
      {"bad contact e-mail", [](auto& r) { r.mutable_contact()->set_email("nope"); },
       "contact.email"},
  };
  for (const Case& c : cases) {
    v1::CreateRequestRequest req = NewRequest("streetlight");
    c.spoil(req);
    v1::ServiceRequest out;
    const grpc::Status s = stub_->CreateRequest(Ctx(kAnna).get(), req, &out);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.name;
    EXPECT_THAT(s.error_message(), StartsWith(c.field + ":")) << c.name;
  }
  v1::CreateRequestRequest ok = NewRequest("streetlight");
  ok.set_description(std::string(4000, 'x'));
  v1::ServiceRequest out;
  EXPECT_TRUE(stub_->CreateRequest(Ctx(kAnna).get(), ok, &out).ok());
  EXPECT_EQ(Events().size(), 1u);  // nothing was stored for the refused ones
}

// Protobuf refuses to parse a string field that is not UTF-8, so this is decided before the
// message is parsed; the client library still sends such bytes (it only logs).
TEST_F(RequestsServiceTest, InvalidUtf8IsRefusedNamingTheField) {
  struct Case {
    std::string name;
    std::function<void(v1::CreateRequestRequest&)> spoil;
    std::string field;
  };
  const std::vector<Case> cases = {
      {"description", [](auto& r) { r.set_description("Loch \xC3\x28 vor dem Haus"); },
       "description"},
      {"truncated sequence at the end", [](auto& r) { r.set_description("Stra\xC3"); },
       "description"},
      {"address", [](auto& r) { r.set_address("Jahnplatz \xFF"); }, "address"},
      {"contact name", [](auto& r) { r.mutable_contact()->set_first_name("J\xF6rg"); },
       "contact.first_name"},
      {"attribute answer",
       [](auto& r) {
         (*r.mutable_attributes()->mutable_fields())["problem"].set_string_value("\xED\xA0\x80");
       },
       "attributes.problem"},
  };
  for (const Case& c : cases) {
    v1::CreateRequestRequest req = NewRequest("streetlight");
    c.spoil(req);
    v1::ServiceRequest out;
    const grpc::Status s = stub_->CreateRequest(Ctx(kAnna).get(), req, &out);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << c.name << ": " << s.error_message();
    EXPECT_EQ(s.error_message(), c.field + ": not valid UTF-8") << c.name;
  }
  // Valid multi-byte text passes, and nothing was stored for the refused ones.
  v1::CreateRequestRequest ok = NewRequest("streetlight");
  ok.set_description("Straßenlaterne flackert – seit Montag 💡");
  v1::ServiceRequest out;
  const grpc::Status s = stub_->CreateRequest(Ctx(kAnna).get(), ok, &out);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(out.description(), ok.description());
  EXPECT_EQ(Events().size(), 1u);
}

TEST_F(RequestsServiceTest, SixPhotosAtFilingAreRefused) {
  std::vector<std::string> ids;
  for (int i = 0; i < 6; ++i) {
    v1::UploadMediaRequest upload;
    upload.mutable_file()->set_data(cityhub::testing::TestPng(4 + i, 4));
    v1::Media m;
    ASSERT_TRUE(stub_->UploadMedia(Ctx(kAnna).get(), upload, &m).ok());
    ids.push_back(m.media_id());
  }
  v1::CreateRequestRequest req = NewRequest("graffiti");
  for (const auto& id : ids) req.add_media_ids(id);
  v1::ServiceRequest out;
  const grpc::Status six = stub_->CreateRequest(Ctx(kAnna).get(), req, &out);
  EXPECT_EQ(six.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(six.error_message(), StartsWith("media_ids:"));
  EXPECT_THAT(six.error_message(), HasSubstr("at most 5"));
  EXPECT_TRUE(Events().empty());
  req.mutable_media_ids()->RemoveLast();
  const v1::ServiceRequest five = File(kAnna, req);
  EXPECT_EQ(five.media_ids_size(), 5);
}

// docs/api.md: unverified accounts read everything public, may unfollow and file anonymously, but
// may not upload photos, file under their name, comment or follow ("verify your e-mail address
// first").
TEST_F(RequestsServiceTest, UnverifiedAccountsMayReadButNotUploadCommentOrFollow) {
  const v1::ServiceRequest r = File(kAnna, NewRequest("pothole"));
  Who unverified = kAnna;
  unverified.verified = false;
  const auto refused = [](const grpc::Status& s) {
    EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
    EXPECT_THAT(s.error_message(), StartsWith("verify your e-mail address first"));
  };

  v1::UploadMediaRequest upload;
  upload.mutable_file()->set_data(cityhub::testing::TestPng(8, 8));
  v1::Media media;
  refused(stub_->UploadMedia(Ctx(unverified).get(), upload, &media));
  v1::FollowRequestRequest follow;
  follow.set_request_id(r.request_id());
  v1::FollowResponse state;
  refused(stub_->FollowRequest(Ctx(unverified).get(), follow, &state));
  v1::AddCommentRequest comment;
  comment.set_request_id(r.request_id());
  comment.set_text("Noch da.");
  v1::Comment added;
  refused(stub_->AddComment(Ctx(unverified).get(), comment, &added));
  v1::ServiceRequest filed;
  refused(stub_->CreateRequest(Ctx(unverified).get(), NewRequest("pothole"), &filed));

  v1::GetRequestRequest get;
  get.set_request_id(r.request_id());
  v1::ServiceRequest seen;
  ASSERT_TRUE(stub_->GetRequest(Ctx(unverified).get(), get, &seen).ok());
  EXPECT_EQ(seen.follower_count(), 0);
  v1::UnfollowRequestRequest unfollow;
  unfollow.set_request_id(r.request_id());
  ASSERT_TRUE(stub_->UnfollowRequest(Ctx(unverified).get(), unfollow, &state).ok());
  EXPECT_FALSE(state.following());
  ASSERT_TRUE(
      stub_->CreateRequest(Ctx().get(), NewRequest("pothole"), &filed).ok());  // anonymously
  // Nothing but the two filings happened.
  const auto events = Events();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_TRUE(events[0].has_request_created());
  EXPECT_TRUE(events[1].has_request_created());
  EXPECT_TRUE(client().Command({"KEYS", keys::Media("*")})->elements().empty());
}

TEST_F(RequestsServiceTest, UploadsAreRecognisedByContentAndLimitedInSize) {
  v1::UploadMediaRequest upload;
  upload.mutable_file()->set_content_type("image/jpeg");
  upload.mutable_file()->set_data("This is a text file pretending to be a photo.\n");
  v1::Media media;
  grpc::Status s = stub_->UploadMedia(Ctx(kAnna).get(), upload, &media);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), StartsWith("file:"));
  std::string big = cityhub::testing::TestJpeg(100, 100);
  big.resize(10 * 1024 * 1024 + 1, '\0');
  upload.mutable_file()->set_data(big);
  s = stub_->UploadMedia(Ctx(kAnna).get(), upload, &media);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("larger than 10 MiB"));
  // Anonymous reporters upload too (#14; the gateway gives them their own budget).
  upload.mutable_file()->set_data(cityhub::testing::TestPng(4, 4));
  EXPECT_TRUE(stub_->UploadMedia(Ctx().get(), upload, &media).ok());
}

// GetMedia's pieces, read to the end; the status of the call.
grpc::Status ReadMedia(cityhub::requests::v1::RequestsService::Stub& stub, grpc::ClientContext* ctx,
                       const std::string& id, std::vector<cityhub::api::HttpBody>* pieces) {
  v1::GetMediaRequest get;
  get.set_media_id(id);
  auto reader = stub.GetMedia(ctx, get);
  cityhub::api::HttpBody piece;
  while (reader->Read(&piece)) pieces->push_back(piece);
  return reader->Finish();
}

std::string Joined(const std::vector<cityhub::api::HttpBody>& pieces) {
  std::string out;
  for (const auto& p : pieces) out += p.data();
  return out;
}

TEST_F(RequestsServiceTest, PhotosAreStoredWithoutMetadataAndServedBack) {
  v1::UploadMediaRequest upload;
  upload.mutable_file()->set_data(cityhub::testing::TestPng(16, 16, true));
  v1::Media media;
  ASSERT_TRUE(stub_->UploadMedia(Ctx(kAnna).get(), upload, &media).ok());
  std::vector<cityhub::api::HttpBody> pieces;
  ASSERT_TRUE(ReadMedia(*stub_, Ctx().get(), media.media_id(), &pieces).ok());
  ASSERT_EQ(pieces.size(), 1u);
  EXPECT_EQ(pieces[0].content_type(), "image/png");
  EXPECT_EQ(pieces[0].content_length(), media.size_bytes());
  EXPECT_EQ(pieces[0].etag(), "\"" + media.media_id() + "\"");
  EXPECT_THAT(pieces[0].data(), Not(HasSubstr(cityhub::testing::kGpsMarker)));
  // Content-addressed.
  EXPECT_EQ(infra::HexEncode(infra::Sha256(pieces[0].data())), media.media_id());
  v1::Media again;
  ASSERT_TRUE(stub_->UploadMedia(Ctx(kBen).get(), upload, &again).ok());
  EXPECT_EQ(again.media_id(), media.media_id());
  pieces.clear();
  EXPECT_EQ(ReadMedia(*stub_, Ctx().get(), "not-a-hash", &pieces).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ReadMedia(*stub_, Ctx().get(), std::string(64, '0'), &pieces).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_TRUE(pieces.empty());
}

// A large photo leaves in pieces of at most kMediaChunkBytes: no call holds it whole.
TEST_F(RequestsServiceTest, LargePhotosAreServedInPieces) {
  v1::UploadMediaRequest upload;
  upload.mutable_file()->set_data(cityhub::testing::TestJpeg(4000, 3000, true, 3'000'000));
  v1::Media media;
  ASSERT_TRUE(stub_->UploadMedia(Ctx(kAnna).get(), upload, &media).ok());
  std::vector<cityhub::api::HttpBody> pieces;
  ASSERT_TRUE(ReadMedia(*stub_, Ctx().get(), media.media_id(), &pieces).ok());
  ASSERT_EQ(pieces.size(), (media.size_bytes() + cityhub::requests::kMediaChunkBytes - 1) /
                               cityhub::requests::kMediaChunkBytes);
  EXPECT_EQ(pieces[0].content_type(), "image/jpeg");
  EXPECT_EQ(pieces[0].content_length(), media.size_bytes());
  for (size_t i = 0; i < pieces.size(); ++i) {
    EXPECT_LE(pieces[i].data().size(), cityhub::requests::kMediaChunkBytes);
    if (i > 0) {
      EXPECT_EQ(pieces[i].content_length(), 0);  // the head comes once
    }
  }
  EXPECT_EQ(infra::HexEncode(infra::Sha256(Joined(pieces))), media.media_id());
  // A reader that stops after the first piece ends its call without holding the service.
  grpc::ClientContext quitter;
  v1::GetMediaRequest get;
  get.set_media_id(media.media_id());
  auto reader = stub_->GetMedia(&quitter, get);
  cityhub::api::HttpBody first;
  ASSERT_TRUE(reader->Read(&first));
  quitter.TryCancel();
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
}

TEST_F(RequestsServiceTest, TwentyConcurrentCreatesWithOneKeyMakeOneRequestAndTwentyEqualAnswers) {
  std::vector<std::string> answers(20);
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int i = 0; i < 20; ++i) {
    threads.emplace_back([&, i] {
      auto ctx = Ctx(kAnna);
      ctx->AddMetadata("idempotency-key", "phone-retry-7f3a");
      v1::ServiceRequest out;
      if (!stub_->CreateRequest(ctx.get(), NewRequest("graffiti"), &out).ok()) ++failures;
      answers[i] = out.SerializeAsString();
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(std::set<std::string>(answers.begin(), answers.end()).size(), 1u);
  EXPECT_EQ(requests_->Count("bielefeld.de").value(), 1);
  EXPECT_EQ(Events().size(), 1u);
  // The same key from another account is another request.
  auto ctx = Ctx(kBen);
  ctx->AddMetadata("idempotency-key", "phone-retry-7f3a");
  v1::ServiceRequest other;
  ASSERT_TRUE(stub_->CreateRequest(ctx.get(), NewRequest("graffiti"), &other).ok());
  EXPECT_EQ(requests_->Count("bielefeld.de").value(), 2);
  // Anonymous residents behind the gateway are told apart by their address: one retries and
  // gets their own answer, another who happens to send the same key files a new request.
  auto anonymous = [&](const std::string& address) {
    auto c = Internal();
    c->AddMetadata("x-client-address", address);
    c->AddMetadata("idempotency-key", "anon-key-1");
    v1::ServiceRequest out;
    EXPECT_TRUE(stub_->CreateRequest(c.get(), NewRequest("graffiti"), &out).ok());
    return out.request_id();
  };
  const std::string first = anonymous("203.0.113.7");
  EXPECT_EQ(anonymous("203.0.113.7"), first);
  EXPECT_NE(anonymous("198.51.100.23"), first);
  EXPECT_EQ(requests_->Count("bielefeld.de").value(), 4);
}

// --- lifecycle and access -------------------------------------------------------------------

TEST_F(RequestsServiceTest, StaffMoveARequestThroughItsLifecycleWithPublicAndInternalNotes) {
  const v1::ServiceRequest r = File(kAnna, NewRequest("streetlight"));
  v1::TransitionRequestRequest t;
  t.set_request_id(r.request_id());
  v1::ServiceRequest out;
  t.set_status(v1::RESOLVED);
  const grpc::Status skip = stub_->TransitionRequest(Ctx(kLights).get(), t, &out);
  EXPECT_EQ(skip.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(skip.error_message(), HasSubstr("SUBMITTED to RESOLVED"));
  for (auto [status, note] : std::vector<std::pair<v1::Status, std::string>>{
           {v1::ACKNOWLEDGED, "Gemeldet an den Betriebshof."},
           {v1::IN_PROGRESS, "Ein Trupp ist unterwegs."},
           {v1::RESOLVED, "Leuchtmittel getauscht."}}) {
    t.set_status(status);
    t.set_public_note(note);
    t.set_internal_note("Auftrag 4711, Kolonne Nord");
    ASSERT_TRUE(stub_->TransitionRequest(Ctx(kLights).get(), t, &out).ok());
  }
  EXPECT_EQ(out.status(), v1::RESOLVED);
  EXPECT_EQ(out.status_notes(), "Leuchtmittel getauscht.");
  v1::GetRequestRequest get;
  get.set_request_id(r.request_id());
  v1::ServiceRequest as_public, as_owner, as_staff;
  ASSERT_TRUE(stub_->GetRequest(Ctx().get(), get, &as_public).ok());
  ASSERT_TRUE(stub_->GetRequest(Ctx(kAnna).get(), get, &as_owner).ok());
  ASSERT_TRUE(stub_->GetRequest(Ctx(kLights).get(), get, &as_staff).ok());
  ASSERT_EQ(as_public.history_size(), 3);
  EXPECT_EQ(as_public.history(2).public_note(), "Leuchtmittel getauscht.");
  EXPECT_THAT(as_public.DebugString(), Not(HasSubstr("4711")));
  EXPECT_THAT(as_owner.DebugString(), Not(HasSubstr("4711")));
  EXPECT_EQ(as_staff.history(0).internal_note(), "Auftrag 4711, Kolonne Nord");
  EXPECT_EQ(as_staff.history(0).actor_account_id(), kLights.account_id);
  const auto events = Events();
  ASSERT_EQ(events.size(), 4u);  // created and three changes: the loop below checks them all
  for (const auto& e : events) EXPECT_THAT(e.DebugString(), Not(HasSubstr("4711")));
  // Reopen, then close.
  t.set_status(v1::IN_PROGRESS);
  ASSERT_TRUE(stub_->TransitionRequest(Ctx(kLights).get(), t, &out).ok());
  t.set_status(v1::CLOSED);
  EXPECT_EQ(stub_->TransitionRequest(Ctx(kLights).get(), t, &out).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  t.set_status(v1::STATUS_UNSPECIFIED);
  EXPECT_EQ(stub_->TransitionRequest(Ctx(kLights).get(), t, &out).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(RequestsServiceTest, EveryTransitionPublishesExactlyOneStatusChangedEvent) {
  const v1::ServiceRequest r = File(kAnna, NewRequest("streetlight"));
  v1::TransitionRequestRequest t;
  t.set_request_id(r.request_id());
  v1::ServiceRequest out;
  const std::vector<std::pair<v1::Status, v1::Status>> moves = {
      {v1::SUBMITTED, v1::ACKNOWLEDGED}, {v1::ACKNOWLEDGED, v1::IN_PROGRESS},
      {v1::IN_PROGRESS, v1::RESOLVED},   {v1::RESOLVED, v1::IN_PROGRESS},
      {v1::IN_PROGRESS, v1::REJECTED},   {v1::REJECTED, v1::CLOSED}};
  for (const auto& [from, to] : moves) {
    t.set_status(to);
    t.set_public_note(std::string("nach ") + v1::Status_Name(to));
    ASSERT_TRUE(stub_->TransitionRequest(Ctx(kLights).get(), t, &out).ok()) << v1::Status_Name(to);
    // Refused transitions and foreign staff publish nothing.
    t.set_status(v1::SUBMITTED);
    EXPECT_EQ(stub_->TransitionRequest(Ctx(kLights).get(), t, &out).error_code(),
              grpc::StatusCode::FAILED_PRECONDITION);
    t.set_status(v1::ACKNOWLEDGED);
    EXPECT_EQ(stub_->TransitionRequest(Ctx(kParks).get(), t, &out).error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
  }
  std::vector<std::pair<v1::Status, v1::Status>> published;
  int created = 0;
  for (const auto& e : Events()) {
    created += e.has_request_created();
    if (!e.has_request_status_changed()) continue;
    const auto& changed = e.request_status_changed();
    EXPECT_EQ(changed.request_id(), r.request_id());
    EXPECT_EQ(changed.public_note(), std::string("nach ") + v1::Status_Name(changed.to_status()));
    published.emplace_back(changed.from_status(), changed.to_status());
  }
  EXPECT_EQ(created, 1);
  EXPECT_EQ(published, moves);
}

TEST_F(RequestsServiceTest, DomainMetricsCountCreatesTransitionsAndComments) {
  auto& created = metrics_.AddCounter("requests_created_total", "", {"category"});
  auto& transitions = metrics_.AddCounter("request_transitions_total", "", {"from", "to"});
  auto& comments = metrics_.AddCounter("comments_total", "").Get();
  const double comments_before = comments.Value();
  // A repeat with the same idempotency key files nothing and counts nothing.
  v1::ServiceRequest r;
  for (int i = 0; i < 2; ++i) {
    auto ctx = Ctx(kAnna);
    ctx->AddMetadata("idempotency-key", "metrics-key");
    ASSERT_TRUE(stub_->CreateRequest(ctx.get(), NewRequest("streetlight"), &r).ok());
  }
  EXPECT_EQ(created.WithLabels({"streetlight"}).Value(), 1);
  v1::TransitionRequestRequest t;
  t.set_request_id(r.request_id());
  t.set_status(v1::ACKNOWLEDGED);
  v1::ServiceRequest out;
  ASSERT_TRUE(stub_->TransitionRequest(Ctx(kLights).get(), t, &out).ok());
  t.set_status(v1::SUBMITTED);  // refused: not counted
  EXPECT_FALSE(stub_->TransitionRequest(Ctx(kLights).get(), t, &out).ok());
  EXPECT_EQ(transitions.WithLabels({"SUBMITTED", "ACKNOWLEDGED"}).Value(), 1);
  EXPECT_EQ(transitions.WithLabels({"ACKNOWLEDGED", "SUBMITTED"}).Value(), 0);
  v1::AddCommentRequest c;
  c.set_request_id(r.request_id());
  c.set_text("Danke");
  v1::Comment comment;
  ASSERT_TRUE(stub_->AddComment(Ctx(kAnna).get(), c, &comment).ok());
  EXPECT_EQ(comments.Value(), comments_before + 1);
}

TEST_F(RequestsServiceTest, DuplicatesPointAtAnotherRequest) {
  const v1::ServiceRequest first = File(kAnna, NewRequest("tree"));
  const v1::ServiceRequest second = File(kBen, NewRequest("tree"));
  v1::TransitionRequestRequest t;
  t.set_request_id(second.request_id());
  t.set_status(v1::DUPLICATE);
  v1::ServiceRequest out;
  EXPECT_THAT(stub_->TransitionRequest(Ctx(kParks).get(), t, &out).error_message(),
              StartsWith("duplicate_of:"));
  t.set_duplicate_of(second.request_id());
  EXPECT_THAT(stub_->TransitionRequest(Ctx(kParks).get(), t, &out).error_message(),
              StartsWith("duplicate_of:"));
  t.set_duplicate_of(first.request_id());
  ASSERT_TRUE(stub_->TransitionRequest(Ctx(kParks).get(), t, &out).ok());
  EXPECT_EQ(out.duplicate_of(), first.request_id());
}

TEST_F(RequestsServiceTest, AccessMatrix) {
  const v1::ServiceRequest r = File(kAnna, NewRequest("streetlight"));
  struct Row {
    std::string who_name;
    Who who;
    bool read_private, comment, transition;
  };
  const std::vector<Row> rows = {
      {"anonymous", kNobody, false, false, false},
      {"owner", kAnna, true, true, false},
      {"other citizen", kBen, false, false, false},
      {"operator of the department", kLights, true, true, true},
      {"operator of another department", kParks, false, false, false},
      {"admin", kAdmin, true, true, true},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.who_name);
    v1::GetRequestRequest get;
    get.set_request_id(r.request_id());
    v1::ServiceRequest seen;
    ASSERT_TRUE(stub_->GetRequest(Ctx(row.who).get(), get, &seen).ok());  // public read: everyone
    EXPECT_EQ(seen.status(), v1::SUBMITTED);
    EXPECT_EQ(!seen.account_id().empty(), row.read_private);

    v1::AddCommentRequest comment;
    comment.set_request_id(r.request_id());
    comment.set_text("Danke!");
    v1::Comment added;
    const grpc::Status c = stub_->AddComment(Ctx(row.who).get(), comment, &added);
    EXPECT_EQ(c.ok(), row.comment) << c.error_message();
    if (!row.comment) {
      EXPECT_EQ(c.error_code(), row.who.account_id.empty() ? grpc::StatusCode::UNAUTHENTICATED
                                                           : grpc::StatusCode::PERMISSION_DENIED);
    }

    v1::TransitionRequestRequest t;
    t.set_request_id(r.request_id());
    t.set_status(v1::REJECTED);
    v1::ServiceRequest moved;
    // Probe with an invalid target so that a permitted caller gets FAILED_PRECONDITION
    // instead of changing the request.
    t.set_status(v1::CLOSED);
    const grpc::Status m = stub_->TransitionRequest(Ctx(row.who).get(), t, &moved);
    if (row.transition) {
      EXPECT_EQ(m.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
    } else {
      EXPECT_TRUE(m.error_code() == grpc::StatusCode::PERMISSION_DENIED ||
                  m.error_code() == grpc::StatusCode::UNAUTHENTICATED)
          << m.error_code();
    }
  }
}

// --- comments, follows ----------------------------------------------------------------------

TEST_F(RequestsServiceTest, CommentsArePagedAndFollowsCounted) {
  const v1::ServiceRequest r = File(kAnna, NewRequest("playground"));
  for (int i = 0; i < 3; ++i) {
    v1::AddCommentRequest c;
    c.set_request_id(r.request_id());
    c.set_text("Kommentar " + std::to_string(i));
    v1::Comment out;
    ASSERT_TRUE(stub_->AddComment(Ctx(i == 1 ? kParks : kAnna).get(), c, &out).ok());
  }
  v1::ListCommentsRequest list;
  list.set_request_id(r.request_id());
  list.set_page_size(2);
  v1::ListCommentsResponse page1, page2;
  ASSERT_TRUE(stub_->ListComments(Ctx().get(), list, &page1).ok());
  ASSERT_EQ(page1.comments_size(), 2);
  EXPECT_EQ(page1.comments(1).author_role(), "staff");
  list.set_page_token(page1.next_page_token());
  ASSERT_TRUE(stub_->ListComments(Ctx().get(), list, &page2).ok());
  ASSERT_EQ(page2.comments_size(), 1);
  EXPECT_EQ(page2.next_page_token(), "");

  v1::FollowRequestRequest follow;
  follow.set_request_id(r.request_id());
  v1::FollowResponse state;
  ASSERT_TRUE(stub_->FollowRequest(Ctx(kBen).get(), follow, &state).ok());
  ASSERT_TRUE(stub_->FollowRequest(Ctx(kBen).get(), follow, &state).ok());  // idempotent
  EXPECT_TRUE(state.following());
  EXPECT_EQ(state.follower_count(), 1);
  v1::GetRequestRequest get;
  get.set_request_id(r.request_id());
  v1::ServiceRequest seen;
  ASSERT_TRUE(stub_->GetRequest(Ctx(kBen).get(), get, &seen).ok());
  EXPECT_TRUE(seen.following());
  EXPECT_EQ(seen.follower_count(), 1);
  v1::UnfollowRequestRequest unfollow;
  unfollow.set_request_id(r.request_id());
  ASSERT_TRUE(stub_->UnfollowRequest(Ctx(kBen).get(), unfollow, &state).ok());
  EXPECT_EQ(state.follower_count(), 0);
  int followed = 0, unfollowed = 0, comments = 0;
  for (const auto& e : Events()) {
    followed += e.has_request_followed();
    unfollowed += e.has_request_unfollowed();
    comments += e.has_comment_added();
  }
  EXPECT_EQ(followed, 1);
  EXPECT_EQ(unfollowed, 1);
  EXPECT_EQ(comments, 3);
  follow.set_request_id(std::string(26, 'Z'));
  EXPECT_EQ(stub_->FollowRequest(Ctx(kBen).get(), follow, &state).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  follow.set_request_id("01JZZZZZZZZZZZZZZZZZZZZZZZ");
  EXPECT_EQ(stub_->FollowRequest(Ctx(kBen).get(), follow, &state).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

// The comment's event is appended before the comment is stored: a stream that refuses it leaves
// neither the comment nor the author's index behind.
TEST_F(RequestsServiceTest, ACommentWhoseEventCannotBeWrittenIsNotStored) {
  const v1::ServiceRequest r = File(kAnna, NewRequest("streetlight"));
  ASSERT_TRUE(client().Command({"DEL", kEventsStream}).ok());
  ASSERT_TRUE(client().Command({"SET", kEventsStream, "not a stream"}).ok());
  v1::AddCommentRequest c;
  c.set_request_id(r.request_id());
  c.set_text("Die Lampe flackert.");
  v1::Comment comment;
  const grpc::Status refused = stub_->AddComment(Ctx(kAnna).get(), c, &comment);
  EXPECT_FALSE(refused.ok());
  ASSERT_TRUE(client().Command({"DEL", kEventsStream}).ok());
  EXPECT_EQ(client().Command({"LLEN", keys::Comments(r.request_id())})->integer(), 0);
  EXPECT_EQ(client().Command({"SCARD", keys::CommentsBy(kAnna.account_id)})->integer(), 0);
  const grpc::Status again = stub_->AddComment(Ctx(kAnna).get(), c, &comment);
  ASSERT_TRUE(again.ok()) << again.error_message();
  EXPECT_EQ(client().Command({"LLEN", keys::Comments(r.request_id())})->integer(), 1);
  // The author's index names the comment by its position in the list.
  auto mine = client().Command({"SMEMBERS", keys::CommentsBy(kAnna.account_id)});
  ASSERT_EQ(mine->elements().size(), 1u);
  EXPECT_EQ(mine->elements()[0].str(), r.request_id() + ":0");
  ASSERT_EQ(Events().size(), 1u);
  EXPECT_TRUE(Events()[0].has_comment_added());
}

TEST_F(RequestsServiceTest, ARequestTakesAtMostItsLimitOfComments) {
  const v1::ServiceRequest r = File(kAnna, NewRequest("streetlight"));
  infra::redis::Args fill = {"RPUSH", keys::Comments(r.request_id())};
  for (int i = 0; i < RequestStore::kMaxComments - 1; ++i) fill.push_back("earlier");
  ASSERT_TRUE(client().Command(fill).ok());
  v1::AddCommentRequest c;
  c.set_request_id(r.request_id());
  c.set_text("Die letzte.");
  v1::Comment comment;
  ASSERT_TRUE(stub_->AddComment(Ctx(kAnna).get(), c, &comment).ok());
  EXPECT_EQ(stub_->AddComment(Ctx(kAnna).get(), c, &comment).error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(client().Command({"LLEN", keys::Comments(r.request_id())})->integer(),
            RequestStore::kMaxComments);
  auto mine = client().Command({"SMEMBERS", keys::CommentsBy(kAnna.account_id)});
  ASSERT_EQ(mine->elements().size(), 1u);
  EXPECT_EQ(mine->elements()[0].str(),
            r.request_id() + ":" + std::to_string(RequestStore::kMaxComments - 1));
}

// Create and update check the catalogue in the same unit as they write (a code created or
// removed meanwhile).
TEST_F(RequestsServiceTest, CatalogueWritesCheckWhetherTheServiceExists) {
  StoredService service;
  service.set_jurisdiction_id("bielefeld.de");
  service.set_code("not-yet-there");
  service.set_name_de("Noch nicht da");
  EXPECT_EQ(catalogue_store_->Update(service).code(), absl::StatusCode::kNotFound);
  EXPECT_FALSE(catalogue_store_->Get("bielefeld.de", "not-yet-there").ok());
  EXPECT_EQ(
      client().Command({"SISMEMBER", keys::Services("bielefeld.de"), "not-yet-there"})->integer(),
      0);
  ASSERT_TRUE(catalogue_store_->Create(service).ok());
  EXPECT_EQ(catalogue_store_->Create(service).code(), absl::StatusCode::kAlreadyExists);
  service.set_name_de("Jetzt da");
  ASSERT_TRUE(catalogue_store_->Update(service).ok());
  EXPECT_EQ(catalogue_store_->Get("bielefeld.de", "not-yet-there")->name_de(), "Jetzt da");
  EXPECT_EQ(
      client().Command({"SISMEMBER", keys::Services("bielefeld.de"), "not-yet-there"})->integer(),
      1);
}

TEST_F(RequestsServiceTest, OwnersAddUpToFivePhotosLater) {
  const v1::ServiceRequest r = File(kAnna, NewRequest("graffiti"));
  std::vector<std::string> ids;
  for (int i = 0; i < 6; ++i) {
    v1::UploadMediaRequest upload;
    upload.mutable_file()->set_data(cityhub::testing::TestPng(4 + i, 4));
    v1::Media m;
    ASSERT_TRUE(stub_->UploadMedia(Ctx(kAnna).get(), upload, &m).ok());
    ids.push_back(m.media_id());
  }
  v1::AddMediaRequest add;
  add.set_request_id(r.request_id());
  for (int i = 0; i < 5; ++i) add.add_media_ids(ids[i]);
  v1::ServiceRequest out;
  EXPECT_EQ(stub_->AddMedia(Ctx(kBen).get(), add, &out).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  ASSERT_TRUE(stub_->AddMedia(Ctx(kAnna).get(), add, &out).ok());
  EXPECT_EQ(out.media_ids_size(), 5);
  add.clear_media_ids();
  add.add_media_ids(ids[5]);
  EXPECT_EQ(stub_->AddMedia(Ctx(kAnna).get(), add, &out).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(RequestsServiceTest, DetailsOfAPrivateCategoryAreShownOnlyToTheReporterAndStaff) {
  v1::CreateServiceRequest create;
  auto* s = create.mutable_service();
  s->set_service_code("noise");
  s->mutable_names()->set_de("Lärmbelästigung");
  s->set_department("environment");
  s->set_sla_hours(72);
  s->set_details_public(false);
  s->set_active(true);
  auto* a = s->add_attributes();
  a->set_code("source");
  a->set_datatype("string");
  a->set_variable(true);
  v1::Service service;
  ASSERT_TRUE(stub_->CreateService(Ctx(kAdmin).get(), create, &service).ok());
  EXPECT_FALSE(service.details_public());

  v1::UploadMediaRequest upload;
  upload.mutable_file()->set_data(cityhub::testing::TestPng(8, 8));
  v1::Media media;
  ASSERT_TRUE(stub_->UploadMedia(Ctx(kAnna).get(), upload, &media).ok());
  v1::CreateRequestRequest req = NewRequest("noise");
  req.set_description("Laute Musik im Nachbarhaus, Hausnummer 12.");
  req.add_media_ids(media.media_id());
  (*req.mutable_attributes()->mutable_fields())["source"].set_string_value("Nachbar");
  const v1::ServiceRequest filed = File(kAnna, req);
  // A public category for contrast: its details are shown to everyone.
  const v1::ServiceRequest pothole = File(kAnna, NewRequest("pothole"));

  const auto view = [&](const Who& who, const std::string& id) {
    v1::GetRequestRequest get;
    get.set_request_id(id);
    v1::ServiceRequest seen;
    EXPECT_TRUE(stub_->GetRequest(Ctx(who).get(), get, &seen).ok());
    return seen;
  };
  const Who noise_staff = Operator("01JNOISE000000000000000000", "environment");
  for (const auto& [name, who] :
       std::vector<std::pair<std::string, Who>>{{"anonymous", kNobody},
                                                {"other citizen", kBen},
                                                {"staff of another department", kParks}}) {
    SCOPED_TRACE(name);
    const v1::ServiceRequest seen = view(who, filed.request_id());
    EXPECT_EQ(seen.status(), v1::SUBMITTED);
    EXPECT_EQ(seen.lat(), filed.lat());  // the public record itself stays
    EXPECT_EQ(seen.description(), "");
    EXPECT_EQ(seen.media_ids_size(), 0);
    EXPECT_EQ(seen.media_urls_size(), 0);
    EXPECT_FALSE(seen.has_attributes());
    EXPECT_THAT(seen.DebugString(), Not(HasSubstr("Nachbar")));
    EXPECT_EQ(view(who, pothole.request_id()).description(), "Seit drei Tagen dunkel.");
  }
  for (const auto& [name, who] : std::vector<std::pair<std::string, Who>>{
           {"owner", kAnna}, {"staff of the department", noise_staff}, {"admin", kAdmin}}) {
    SCOPED_TRACE(name);
    const v1::ServiceRequest seen = view(who, filed.request_id());
    EXPECT_EQ(seen.description(), "Laute Musik im Nachbarhaus, Hausnummer 12.");
    ASSERT_EQ(seen.media_ids_size(), 1);
    EXPECT_EQ(seen.media_ids(0), media.media_id());
    EXPECT_EQ(seen.media_urls(0), media.url());
    EXPECT_EQ(seen.attributes().fields().at("source").string_value(), "Nachbar");
  }
  // Lists show the same views.
  v1::ListRequestsRequest list;
  list.add_service_code("noise");
  v1::ListRequestsResponse anonymous, owner;
  ASSERT_TRUE(stub_->ListRequests(Ctx().get(), list, &anonymous).ok());
  ASSERT_EQ(anonymous.requests_size(), 1);
  EXPECT_EQ(anonymous.requests(0).description(), "");
  EXPECT_EQ(anonymous.requests(0).media_urls_size(), 0);
  ASSERT_TRUE(stub_->ListRequests(Ctx(kAnna).get(), list, &owner).ok());
  ASSERT_EQ(owner.requests_size(), 1);
  EXPECT_EQ(owner.requests(0).description(), "Laute Musik im Nachbarhaus, Hausnummer 12.");
}

// --- queries --------------------------------------------------------------------------------

TEST_F(RequestsServiceTest, ListsAreNewestFirstFilteredAndCursorPaged) {
  std::vector<std::string> ids;
  for (int i = 0; i < 25; ++i) {
    clock_->Advance(1min);
    ids.push_back(
        File(i % 2 ? kBen : kAnna, NewRequest(i % 3 ? "pothole" : "graffiti")).request_id());
  }
  v1::TransitionRequestRequest t;
  t.set_request_id(ids[0]);
  t.set_status(v1::REJECTED);
  v1::ServiceRequest moved;
  ASSERT_TRUE(stub_->TransitionRequest(Ctx(kAdmin).get(), t, &moved).ok());

  std::vector<std::string> seen;
  v1::ListRequestsRequest req;
  req.set_page_size(10);
  int pages = 0;
  do {
    v1::ListRequestsResponse page;
    ASSERT_TRUE(stub_->ListRequests(Ctx().get(), req, &page).ok());
    for (const auto& r : page.requests()) seen.push_back(r.request_id());
    req.set_page_token(page.next_page_token());
    ++pages;
  } while (!req.page_token().empty() && pages < 10);
  EXPECT_EQ(seen, std::vector<std::string>(ids.rbegin(), ids.rend()));

  v1::ListRequestsRequest graffiti;
  graffiti.add_service_code("graffiti");
  graffiti.set_page_size(100);
  v1::ListRequestsResponse g;
  ASSERT_TRUE(stub_->ListRequests(Ctx().get(), graffiti, &g).ok());
  EXPECT_EQ(g.requests_size(), 9);
  for (const auto& r : g.requests()) EXPECT_EQ(r.service_code(), "graffiti");

  v1::ListRequestsRequest open;
  open.add_status(v1::SUBMITTED);
  open.set_page_size(100);
  v1::ListRequestsResponse o;
  ASSERT_TRUE(stub_->ListRequests(Ctx().get(), open, &o).ok());
  EXPECT_EQ(o.requests_size(), 24);

  v1::ListRequestsRequest window;
  *window.mutable_since() =
      TimeUtil::MillisecondsToTimestamp(infra::UnixMillis(clock_->Now()) - 5 * 60'000 + 1);
  window.set_page_size(100);
  v1::ListRequestsResponse w;
  ASSERT_TRUE(stub_->ListRequests(Ctx().get(), window, &w).ok());
  EXPECT_EQ(w.requests_size(), 5);

  v1::ListMyRequestsRequest mine;
  mine.set_page_size(5);
  v1::ListRequestsResponse m;
  ASSERT_TRUE(stub_->ListMyRequests(Ctx(kAnna).get(), mine, &m).ok());
  EXPECT_EQ(m.requests_size(), 5);
  for (const auto& r : m.requests()) EXPECT_TRUE(r.is_own());
  EXPECT_FALSE(m.next_page_token().empty());

  v1::ListRequestsRequest bad;
  bad.set_page_size(101);
  v1::ListRequestsResponse none;
  EXPECT_THAT(stub_->ListRequests(Ctx().get(), bad, &none).error_message(),
              StartsWith("page_size:"));
  bad.set_page_size(10);
  bad.set_page_token("garbage");
  EXPECT_THAT(stub_->ListRequests(Ctx().get(), bad, &none).error_message(),
              StartsWith("page_token:"));
  bad.clear_page_token();
  bad.set_lat(52);
  EXPECT_THAT(stub_->ListRequests(Ctx().get(), bad, &none).error_message(),
              StartsWith("radius_m:"));
}

TEST_F(RequestsServiceTest, DuplicateSuggestionsAreOpenSameCategoryNearAndRecent) {
  // From the searched point: a pothole 30 m away (inside the 50 m radius), another 80 m away
  // (outside), and graffiti at the first pothole's spot (another category).
  constexpr double kLat = 52.02137, kLon = 8.53250;
  const v1::ServiceRequest near = File(kAnna, NewRequest("pothole", 52.02110, kLon));
  const v1::ServiceRequest far = File(kAnna, NewRequest("pothole", 52.02209, kLon));
  const v1::ServiceRequest other = File(kAnna, NewRequest("graffiti", 52.02110, kLon));
  EXPECT_NEAR(DistanceM(kLat, kLon, near.lat(), near.long_()), 30, 0.5);
  EXPECT_NEAR(DistanceM(kLat, kLon, far.lat(), far.long_()), 80, 0.5);
  v1::SuggestDuplicatesRequest req;
  req.set_service_code("pothole");
  req.set_lat(kLat);
  req.set_long_(kLon);
  v1::ListRequestsResponse out;
  ASSERT_TRUE(stub_->SuggestDuplicates(Ctx().get(), req, &out).ok());
  ASSERT_EQ(out.requests_size(), 1);
  EXPECT_EQ(out.requests(0).request_id(), near.request_id());
  (void)far;
  (void)other;
  v1::TransitionRequestRequest t;
  t.set_request_id(near.request_id());
  t.set_status(v1::REJECTED);
  v1::ServiceRequest moved;
  ASSERT_TRUE(stub_->TransitionRequest(Ctx(kAdmin).get(), t, &moved).ok());
  out.Clear();
  ASSERT_TRUE(stub_->SuggestDuplicates(Ctx().get(), req, &out).ok());
  EXPECT_EQ(out.requests_size(), 0);  // closed requests are no duplicates
  const v1::ServiceRequest fresh = File(kBen, NewRequest("pothole", 52.02120, kLon));  // 19 m
  out.Clear();
  ASSERT_TRUE(stub_->SuggestDuplicates(Ctx().get(), req, &out).ok());
  ASSERT_EQ(out.requests_size(), 1);
  EXPECT_EQ(out.requests(0).request_id(), fresh.request_id());
  clock_->Advance(std::chrono::hours(24 * 31));
  out.Clear();
  ASSERT_TRUE(stub_->SuggestDuplicates(Ctx().get(), req, &out).ok());
  EXPECT_EQ(out.requests_size(), 0);  // older than 30 days
}

// --- privacy --------------------------------------------------------------------------------

TEST_F(RequestsServiceTest, ADeletedAccountLeavesAnonymousPublicRecords) {
  v1::CreateRequestRequest req = NewRequest("pothole");
  req.mutable_contact()->set_phone("+49 521 123456");
  v1::ServiceRequest r;
  auto filing = Ctx(kAnna);
  filing->AddMetadata("idempotency-key", "anna-phone-retry-1");
  ASSERT_TRUE(stub_->CreateRequest(filing.get(), req, &r).ok());
  // The key names the account: the check at the end must see it go.
  auto idem = client().Command({"KEYS", keys::IdemPrefix(kAnna.account_id) + "*"});
  ASSERT_TRUE(idem.ok());
  ASSERT_EQ(idem->elements().size(), 1u);
  v1::AddCommentRequest c;
  c.set_request_id(r.request_id());
  c.set_text("Es wird schlimmer.");
  v1::Comment comment;
  ASSERT_TRUE(stub_->AddComment(Ctx(kAnna).get(), c, &comment).ok());
  const v1::ServiceRequest bens = File(kBen, NewRequest("tree"));
  v1::FollowRequestRequest follow;
  follow.set_request_id(bens.request_id());
  v1::FollowResponse state;
  ASSERT_TRUE(stub_->FollowRequest(Ctx(kAnna).get(), follow, &state).ok());

  v1::ExportUserDataRequest ask;
  ask.set_account_id(kAnna.account_id);
  v1::UserDataExport before;
  EXPECT_EQ(stub_->ExportUserData(Ctx(kAnna).get(), ask, &before).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  ASSERT_TRUE(stub_->ExportUserData(Internal().get(), ask, &before).ok());
  ASSERT_EQ(before.requests_size(), 1);
  EXPECT_EQ(before.requests(0).contact().phone(), "+49 521 123456");
  EXPECT_EQ(before.comments_size(), 1);
  EXPECT_EQ(before.followed_request_ids_size(), 1);

  cityhub::events::v1::Event deleted;
  deleted.mutable_account_deleted()->set_account_id(kAnna.account_id);
  ASSERT_TRUE(service_->OnAccountEvent(deleted.SerializeAsString()).ok());
  ASSERT_TRUE(service_->OnAccountEvent(deleted.SerializeAsString()).ok());  // idempotent

  v1::GetRequestRequest get;
  get.set_request_id(r.request_id());
  v1::ServiceRequest staff_view;
  ASSERT_TRUE(stub_->GetRequest(Ctx(kAdmin).get(), get, &staff_view).ok());
  EXPECT_TRUE(staff_view.account_id().empty());
  EXPECT_FALSE(staff_view.has_contact());
  EXPECT_EQ(staff_view.status(), v1::SUBMITTED);
  v1::UserDataExport after;
  ASSERT_TRUE(stub_->ExportUserData(Internal().get(), ask, &after).ok());
  EXPECT_EQ(after.requests_size(), 0);
  EXPECT_EQ(after.comments_size(), 0);
  EXPECT_EQ(after.followed_request_ids_size(), 0);
  v1::ListCommentsRequest list;
  list.set_request_id(r.request_id());
  v1::ListCommentsResponse comments;
  ASSERT_TRUE(stub_->ListComments(Ctx().get(), list, &comments).ok());
  EXPECT_EQ(comments.comments(0).text(), "Es wird schlimmer.");
  get.set_request_id(bens.request_id());
  v1::ServiceRequest followed;
  ASSERT_TRUE(stub_->GetRequest(Ctx().get(), get, &followed).ok());
  EXPECT_EQ(followed.follower_count(), 0);
  auto keys = client().Command({"KEYS", "*" + kAnna.account_id + "*"});
  ASSERT_TRUE(keys.ok());
  std::vector<std::string> left;
  for (const auto& k : keys->elements()) left.push_back(k.str());
  EXPECT_THAT(left, ::testing::IsEmpty());
}

// --- faults ---------------------------------------------------------------------------------

TEST_F(RequestsServiceTest, EveryStoredRequestHasExactlyOneCreatedEventDespiteRedisCrashes) {
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, failed{0};
  std::thread writer([&] {
    while (!stop.load()) {
      v1::ServiceRequest out;
      auto ctx = Ctx(kAnna);
      ctx->set_deadline(std::chrono::system_clock::now() + 2s);
      if (stub_->CreateRequest(ctx.get(), NewRequest("overflowing_bin"), &out).ok()) {
        ++ok;
      } else {
        ++failed;
      }
    }
  });
  for (int round = 0; round < 3; ++round) {
    ASSERT_TRUE(cityhub::testing::WaitFor([&] { return ok.load() > (round + 1) * 20; }, 20s));
    redis().Kill();
    std::this_thread::sleep_for(100ms);
    redis().Start();
  }
  ASSERT_TRUE(cityhub::testing::WaitFor([&] { return ok.load() > 100; }, 20s));
  stop.store(true);
  writer.join();
  EXPECT_GT(failed.load(), 0);  // the crashes were felt
  // The pool may still wait out a reconnect backoff from the last crash.
  ASSERT_TRUE(cityhub::testing::WaitFor([&] { return client().Command({"PING"}).ok(); }, 5s));

  std::multiset<std::string> created;
  for (const auto& e : Events()) {
    if (e.has_request_created()) created.insert(e.request_created().request_id());
  }
  auto stored = client().Command({"ZRANGE", keys::ByTime("bielefeld.de"), "0", "-1"});
  ASSERT_TRUE(stored.ok());
  std::set<std::string> ids;
  for (const auto& r : stored->elements()) ids.insert(r.str());
  EXPECT_GE(ids.size(), static_cast<size_t>(ok.load()));
  for (const auto& id : ids) EXPECT_EQ(created.count(id), 1u) << id;
  for (const auto& id : created) EXPECT_TRUE(ids.count(id)) << id;
  for (const auto& id : ids)
    EXPECT_EQ(client().Command({"EXISTS", keys::Request(id)})->integer(), 1);
}

TEST_F(RequestsServiceTest, RedisDownIsUnavailable) {
  const v1::ServiceRequest r = File(kAnna, NewRequest("pothole"));
  redis().Kill();
  v1::GetRequestRequest get;
  get.set_request_id(r.request_id());
  v1::ServiceRequest out;
  EXPECT_EQ(stub_->GetRequest(Ctx().get(), get, &out).error_code(), grpc::StatusCode::UNAVAILABLE);
  redis().Start();
  EXPECT_TRUE(cityhub::testing::WaitFor(
      [&] { return stub_->GetRequest(Ctx().get(), get, &out).ok(); }, 10s));
}

// "My requests": the page's ids, then their records and follow states in one pipeline: one
// ZREVRANGEBYSCORE, one MGET and an SCARD and SISMEMBER per request, newest first, paged on by
// the token, with each one's follower count and whether the caller follows it (#16).
TEST_F(RequestsServiceTest, MyRequestsAreTheirIdsThenOnePipelineWithFollowStates) {
  std::vector<std::string> filed;
  for (int i = 0; i < 7; ++i) {
    filed.push_back(File(kAnna, NewRequest("pothole")).request_id());
    clock_->Advance(std::chrono::seconds(1));
  }
  File(kBen, NewRequest("pothole"));  // not Anna's
  v1::FollowRequestRequest follow;
  follow.set_request_id(filed[5]);
  v1::FollowResponse state;
  ASSERT_TRUE(stub_->FollowRequest(Ctx(kBen).get(), follow, &state).ok());
  ASSERT_TRUE(stub_->FollowRequest(Ctx(kAnna).get(), follow, &state).ok());

  ASSERT_TRUE(client().Command({"CONFIG", "RESETSTAT"}).ok());
  v1::ListMyRequestsRequest mine;
  mine.set_page_size(4);
  v1::ListRequestsResponse first;
  const grpc::Status s = stub_->ListMyRequests(Ctx(kAnna).get(), mine, &first);
  ASSERT_TRUE(s.ok()) << s.error_message();
  std::map<std::string, int> calls = CommandCalls();
  EXPECT_EQ(calls["zrevrangebyscore"], 1);
  EXPECT_EQ(calls["mget"], 1);
  // Five: the page's four and the one read ahead to know whether more follow.
  EXPECT_EQ(calls["scard"], 5);
  EXPECT_EQ(calls["sismember"], 5);

  ASSERT_EQ(first.requests_size(), 4);
  const std::vector<std::string> newest = {filed[6], filed[5], filed[4], filed[3]};
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(first.requests(i).request_id(), newest[i]);
    EXPECT_TRUE(first.requests(i).is_own());
    EXPECT_FALSE(first.requests(i).service_name().empty());
  }
  EXPECT_EQ(first.requests(1).follower_count(), 2);
  EXPECT_TRUE(first.requests(1).following());
  EXPECT_EQ(first.requests(0).follower_count(), 0);
  EXPECT_FALSE(first.requests(0).following());
  EXPECT_EQ(first.next_page_token(), filed[3]);

  mine.set_page_token(first.next_page_token());
  v1::ListRequestsResponse second;
  ASSERT_TRUE(stub_->ListMyRequests(Ctx(kAnna).get(), mine, &second).ok());
  ASSERT_EQ(second.requests_size(), 3);
  EXPECT_EQ(second.requests(0).request_id(), filed[2]);
  EXPECT_EQ(second.requests(2).request_id(), filed[0]);
  EXPECT_EQ(second.next_page_token(), "");

  // Someone with no requests gets an empty page, and a bad token names the field.
  v1::ListRequestsResponse none;
  ASSERT_TRUE(stub_->ListMyRequests(Ctx(kLights).get(), v1::ListMyRequestsRequest(), &none).ok());
  EXPECT_EQ(none.requests_size(), 0);
  mine.set_page_token("garbage");
  EXPECT_THAT(stub_->ListMyRequests(Ctx(kAnna).get(), mine, &none).error_message(),
              StartsWith("page_token"));
}

}  // namespace
}  // namespace cityhub::requests
