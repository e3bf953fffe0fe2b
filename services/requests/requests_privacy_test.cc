// Privacy rules of the requests service over real gRPC against a real Redis: comments are
// details (issue 18, item 10), and a deleted account's still valid token writes nothing
// (issue 18, item 11).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "infra/auth/deleted_accounts.h"
#include "services/requests/keys.h"
#include "services/requests/requests_test_fixture.h"
#include "tests/harness/images.h"

namespace cityhub::requests {
namespace {

namespace v1 = cityhub::requests::v1;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

const Who kAnna = {"01JANNA0000000000000000000", {"citizen"}, {}, true};
const Who kBen = {"01JBEN00000000000000000000", {"citizen"}, {}, true};
const Who kParks = {"01JPARKS000000000000000000", {"citizen", "operator"}, {"parks"}, true};
const Who kNoiseStaff = {
    "01JNOISE000000000000000000", {"citizen", "operator"}, {"environment"}, true};
const Who kAdmin = {"01JADMIN000000000000000000", {"citizen", "admin"}, {}, true};
const Who kNobody = {};

class RequestsPrivacyTest : public RequestsServiceTest {
 protected:
  // A category whose details only the reporter and staff see.
  void AddPrivateCategory() {
    v1::CreateServiceRequest create;
    auto* s = create.mutable_service();
    s->set_service_code("noise");
    s->mutable_names()->set_de("Lärmbelästigung");
    s->set_department("environment");
    s->set_sla_hours(72);
    s->set_details_public(false);
    s->set_active(true);
    v1::Service service;
    ASSERT_TRUE(stub_->CreateService(Ctx(kAdmin).get(), create, &service).ok());
  }

  grpc::Status Comment(const Who& who, const std::string& request_id, const std::string& text) {
    v1::AddCommentRequest c;
    c.set_request_id(request_id);
    c.set_text(text);
    v1::Comment out;
    return stub_->AddComment(Ctx(who).get(), c, &out);
  }

  v1::ListCommentsResponse Comments(const Who& who, const std::string& request_id) {
    v1::ListCommentsRequest list;
    list.set_request_id(request_id);
    v1::ListCommentsResponse out;
    const grpc::Status s = stub_->ListComments(Ctx(who).get(), list, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out;
  }

  std::vector<std::string> Keys(const std::string& pattern) {
    std::vector<std::string> out;
    auto keys = client().Command({"KEYS", pattern});
    EXPECT_TRUE(keys.ok()) << keys.status();
    if (keys.ok()) {
      for (const auto& k : keys->elements()) out.push_back(k.str());
    }
    return out;
  }
};

// --- item 10: comments have the visibility of the details ------------------------------------

TEST_F(RequestsPrivacyTest, CommentsOfAPrivateCategoryAreShownOnlyToTheReporterAndStaff) {
  ASSERT_NO_FATAL_FAILURE(AddPrivateCategory());
  const v1::ServiceRequest noise = File(kAnna, NewRequest("noise"));
  const v1::ServiceRequest pothole = File(kAnna, NewRequest("pothole"));
  for (const auto& r : {noise, pothole}) {
    ASSERT_TRUE(Comment(kAnna, r.request_id(), "Die Musik kommt aus Hausnummer 12.").ok());
  }
  ASSERT_TRUE(Comment(kNoiseStaff, noise.request_id(), "Wir sprechen mit Familie Meier.").ok());

  for (const auto& [name, who] :
       std::vector<std::pair<std::string, Who>>{{"anonymous", kNobody},
                                                {"other citizen", kBen},
                                                {"staff of another department", kParks}}) {
    SCOPED_TRACE(name);
    const v1::ListCommentsResponse seen = Comments(who, noise.request_id());
    EXPECT_EQ(seen.comments_size(), 0);
    EXPECT_THAT(seen.DebugString(), Not(HasSubstr("Hausnummer")));
    EXPECT_THAT(seen.DebugString(), Not(HasSubstr("Meier")));
    // A public category's comments stay public.
    ASSERT_EQ(Comments(who, pothole.request_id()).comments_size(), 1);
  }
  for (const auto& [name, who] : std::vector<std::pair<std::string, Who>>{
           {"reporter", kAnna}, {"staff of the department", kNoiseStaff}, {"admin", kAdmin}}) {
    SCOPED_TRACE(name);
    const v1::ListCommentsResponse seen = Comments(who, noise.request_id());
    ASSERT_EQ(seen.comments_size(), 2);
    EXPECT_EQ(seen.comments(0).text(), "Die Musik kommt aus Hausnummer 12.");
    EXPECT_EQ(seen.comments(1).text(), "Wir sprechen mit Familie Meier.");
  }

  // The events tell the notifications service (webhooks, followers) what it may pass on.
  int private_comments = 0, public_comments = 0;
  for (const auto& e : Events()) {
    if (!e.has_comment_added()) continue;
    const bool is_noise = e.comment_added().request_id() == noise.request_id();
    EXPECT_EQ(e.comment_added().details_public(), !is_noise);
    (is_noise ? private_comments : public_comments)++;
  }
  EXPECT_EQ(private_comments, 2);
  EXPECT_EQ(public_comments, 1);
}

// --- item 11: a deleted account's token writes nothing ---------------------------------------

TEST_F(RequestsPrivacyTest, ADeletedAccountsStillValidTokenWritesNothing) {
  const v1::ServiceRequest anna = File(kAnna, NewRequest("pothole"));
  const v1::ServiceRequest bens = File(kBen, NewRequest("tree"));
  v1::UploadMediaRequest upload;
  upload.mutable_file()->set_data(cityhub::testing::TestPng(8, 8));
  v1::Media media;
  ASSERT_TRUE(stub_->UploadMedia(Ctx(kBen).get(), upload, &media).ok());

  // What the AccountDeleted consumer runs: the marker first, then the erasure.
  cityhub::events::v1::Event deleted;
  deleted.mutable_account_deleted()->set_account_id(kAnna.account_id);
  ASSERT_TRUE(service_->OnAccountEvent(deleted.SerializeAsString()).ok());
  const size_t requests_before = Keys(keys::Request("*")).size();
  const size_t media_before = Keys(keys::Media("*")).size();

  // Anna's access token is still valid for minutes; no write takes it.
  const auto refused = [](const grpc::Status& s) {
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << s.error_message();
    EXPECT_THAT(s.error_message(), HasSubstr("deleted"));
  };
  v1::ServiceRequest out;
  auto filing = Ctx(kAnna);
  filing->AddMetadata("idempotency-key", "after-deletion-1");
  refused(stub_->CreateRequest(filing.get(), NewRequest("pothole"), &out));
  refused(Comment(kAnna, anna.request_id(), "Noch da."));
  v1::FollowRequestRequest follow;
  follow.set_request_id(bens.request_id());
  v1::FollowResponse state;
  refused(stub_->FollowRequest(Ctx(kAnna).get(), follow, &state));
  v1::UnfollowRequestRequest unfollow;
  unfollow.set_request_id(bens.request_id());
  refused(stub_->UnfollowRequest(Ctx(kAnna).get(), unfollow, &state));
  upload.mutable_file()->set_data(cityhub::testing::TestPng(9, 9));
  refused(stub_->UploadMedia(Ctx(kAnna).get(), upload, &media));
  v1::AddMediaRequest add;
  add.set_request_id(anna.request_id());
  add.add_media_ids(media.media_id());
  refused(stub_->AddMedia(Ctx(kAnna).get(), add, &out));

  // Nothing was stored for her, and nothing else was added.
  EXPECT_THAT(Keys("*" + kAnna.account_id + "*"), IsEmpty());
  EXPECT_EQ(Keys(keys::Request("*")).size(), requests_before);
  EXPECT_EQ(Keys(keys::Media("*")).size(), media_before);
  EXPECT_EQ(Comments(kAdmin, anna.request_id()).comments_size(), 0);
  for (const auto& e : Events()) {
    if (e.has_request_followed()) {
      EXPECT_NE(e.request_followed().account_id(), kAnna.account_id);
    }
    if (e.has_comment_added()) {
      EXPECT_NE(e.comment_added().author_account_id(), kAnna.account_id);
    }
  }
  // The marker (it keeps a digest, not the id: no key names Anna's id, above); reads still work
  // with the token.
  EXPECT_EQ(client()
                .Command({"EXISTS", infra::auth::DeletedAccounts::Key(kDeletedAccountsArea,
                                                                      kAnna.account_id)})
                ->integer(),
            1);
  v1::GetRequestRequest get;
  get.set_request_id(bens.request_id());
  EXPECT_TRUE(stub_->GetRequest(Ctx(kAnna).get(), get, &out).ok());
  // Others write as before.
  EXPECT_TRUE(stub_->FollowRequest(Ctx(kBen).get(), follow, &state).ok());
}

// The check is a Redis round trip: only methods that change data pay it (GetRequest answers
// on a gRPC callback thread and must not block).
TEST_F(RequestsPrivacyTest, OnlyMethodsThatChangeDataCheckForDeletion) {
  for (const char* write : {"CreateRequest", "AddComment", "FollowRequest", "UnfollowRequest",
                            "UploadMedia", "AddMedia", "TransitionRequest", "CreateService"}) {
    EXPECT_TRUE(authorizer_->IsWrite(write)) << write;
  }
  for (const char* read : {"GetRequest", "ListRequests", "ListComments", "GetMedia", "ListServices",
                           "ExportUserData"}) {
    EXPECT_FALSE(authorizer_->IsWrite(read)) << read;
  }
}

}  // namespace
}  // namespace cityhub::requests
