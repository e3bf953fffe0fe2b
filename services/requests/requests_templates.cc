// Response templates (issue #14 B): texts staff reuse, per department. Operators list, create,
// change and delete the templates of their own departments; admins those of every department.
// The gateway lets staff only through (ACCESS_OPERATOR); the department is checked here.
#include <algorithm>

#include "infra/ids.h"
#include "infra/status.h"
#include "infra/strings.h"
#include "infra/text.h"
#include "services/requests/catalogue.h"
#include "services/requests/request_input.h"
#include "services/requests/requests_service.h"

namespace cityhub::requests {

using infra::InvalidField;
using infra::auth::Caller;

namespace {

absl::Status CheckDepartment(const Caller& caller, const std::string& department) {
  if (department.empty()) return InvalidField("department", "is required");
  if (!IsServiceCode(department)) return InvalidField("department", "malformed");
  if (!caller.WorksFor(department)) {
    return absl::PermissionDeniedError("only staff of the department manage its templates");
  }
  return absl::OkStatus();
}

absl::Status CheckTitle(const std::string& title) {
  RETURN_IF_ERROR(CheckText("title", title, 1, 120, false));
  if (infra::TrimAscii(title).empty()) return InvalidField("title", "is required");
  return absl::OkStatus();
}

absl::Status CheckTextDe(const std::string& text) {
  RETURN_IF_ERROR(CheckText("text_de", text, 1, 2000, true));
  if (infra::TrimAscii(text).empty()) return InvalidField("text_de", "is required");
  return absl::OkStatus();
}

}  // namespace

absl::Status RequestsService::DoListResponseTemplates(grpc::ServerContextBase* ctx,
                                                      const v1::ListResponseTemplatesRequest* req,
                                                      v1::ListResponseTemplatesResponse* response) {
  ASSIGN_OR_RETURN(auto caller, deps_.authorizer.Authorize(*ctx, "ListResponseTemplates"));
  ASSIGN_OR_RETURN(auto page_size, PageSize(req->page_size()));
  RETURN_IF_ERROR(CheckPageToken(req->page_token()));
  std::vector<std::string> departments;
  if (!req->department().empty()) {
    RETURN_IF_ERROR(CheckDepartment(caller, req->department()));
    departments.push_back(req->department());
  } else if (caller.is_admin()) {
    ASSIGN_OR_RETURN(departments, deps_.templates.Departments());
  } else {
    departments = caller.departments;
  }
  ASSIGN_OR_RETURN(auto templates, deps_.templates.OfDepartments(departments));
  // Ordered by id (creation); at most 200 per department, so a page is cut from memory.
  auto it = std::upper_bound(
      templates.begin(), templates.end(), req->page_token(),
      [](const std::string& token, const StoredResponseTemplate& t) { return token < t.id(); });
  for (; it != templates.end(); ++it) {
    if (response->templates_size() == page_size) {
      response->set_next_page_token(response->templates().rbegin()->template_id());
      break;
    }
    ViewTemplate(*it, response->add_templates());
  }
  return absl::OkStatus();
}

absl::Status RequestsService::DoCreateResponseTemplate(grpc::ServerContextBase* ctx,
                                                       const v1::CreateResponseTemplateRequest* req,
                                                       v1::ResponseTemplate* response) {
  ASSIGN_OR_RETURN(auto caller, deps_.authorizer.Authorize(*ctx, "CreateResponseTemplate"));
  RETURN_IF_ERROR(RequireVerifiedStaff(caller));
  const auto& in = req->template_();
  RETURN_IF_ERROR(CheckDepartment(caller, in.department()));
  RETURN_IF_ERROR(CheckTitle(in.title()));
  RETURN_IF_ERROR(CheckTextDe(in.text_de()));
  RETURN_IF_ERROR(CheckText("text_en", in.text_en(), 0, 2000, true));
  const auto now = deps_.clock.Now();
  StoredResponseTemplate t;
  t.set_id(infra::NewUlid(now));
  t.set_department(in.department());
  t.set_title(std::string(infra::TrimAscii(in.title())));
  t.set_text_de(in.text_de());
  t.set_text_en(in.text_en());
  t.set_author_account_id(caller.account_id);
  t.set_created_ms(infra::UnixMillis(now));
  t.set_updated_ms(t.created_ms());
  RETURN_IF_ERROR(deps_.templates.Create(t));
  RETURN_IF_ERROR(EraseIfDeletedMeanwhile(caller));
  ViewTemplate(t, response);
  return absl::OkStatus();
}

absl::Status RequestsService::DoUpdateResponseTemplate(grpc::ServerContextBase* ctx,
                                                       const v1::UpdateResponseTemplateRequest* req,
                                                       v1::ResponseTemplate* response) {
  ASSIGN_OR_RETURN(auto caller, deps_.authorizer.Authorize(*ctx, "UpdateResponseTemplate"));
  RETURN_IF_ERROR(RequireVerifiedStaff(caller));
  if (!infra::IsUlid(req->template_id())) return InvalidField("template_id", "not a template id");
  if (req->has_title()) RETURN_IF_ERROR(CheckTitle(req->title()));
  if (req->has_text_de()) RETURN_IF_ERROR(CheckTextDe(req->text_de()));
  if (req->has_text_en()) RETURN_IF_ERROR(CheckText("text_en", req->text_en(), 0, 2000, true));
  if (req->has_department() && !IsServiceCode(req->department()))
    return InvalidField("department", "malformed");
  for (int attempt = 0;; ++attempt) {
    ASSIGN_OR_RETURN(auto before, deps_.templates.Get(req->template_id()));
    RETURN_IF_ERROR(CheckDepartment(caller, before.department()));
    StoredResponseTemplate after = before;
    if (req->has_department()) {
      RETURN_IF_ERROR(CheckDepartment(caller, req->department()));
      after.set_department(req->department());
    }
    if (req->has_title()) after.set_title(std::string(infra::TrimAscii(req->title())));
    if (req->has_text_de()) after.set_text_de(req->text_de());
    if (req->has_text_en()) after.set_text_en(req->text_en());
    after.set_updated_ms(infra::UnixMillis(deps_.clock.Now()));
    const absl::Status s = deps_.templates.Update(before, after);
    if (s.ok()) {
      ViewTemplate(after, response);
      return s;
    }
    if (s.code() != absl::StatusCode::kAborted || attempt >= 3) return s;
  }
}

absl::Status RequestsService::DoDeleteResponseTemplate(grpc::ServerContextBase* ctx,
                                                       const v1::DeleteResponseTemplateRequest* req,
                                                       v1::DeleteResponseTemplateResponse*) {
  ASSIGN_OR_RETURN(auto caller, deps_.authorizer.Authorize(*ctx, "DeleteResponseTemplate"));
  RETURN_IF_ERROR(RequireVerifiedStaff(caller));
  if (!infra::IsUlid(req->template_id())) return InvalidField("template_id", "not a template id");
  for (int attempt = 0;; ++attempt) {
    ASSIGN_OR_RETURN(auto t, deps_.templates.Get(req->template_id()));
    RETURN_IF_ERROR(CheckDepartment(caller, t.department()));
    const absl::Status s = deps_.templates.Delete(t);
    if (s.code() != absl::StatusCode::kAborted || attempt >= 3) return s;
  }
}

}  // namespace cityhub::requests
