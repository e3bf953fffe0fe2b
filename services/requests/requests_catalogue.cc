// The catalogue calls of the requests service: list, read, create and change categories, and
// the seed of a fresh stack.
#include <google/protobuf/util/field_mask_util.h>
#include <google/protobuf/util/json_util.h>

#include "infra/status.h"
#include "infra/strings.h"
#include "services/requests/requests_service.h"

namespace cityhub::requests {

using infra::Done;
using infra::InvalidField;
using infra::StrCat;

absl::Status RequestsService::DoListServices(grpc::ServerContextBase* ctx,
                                             const v1::ListServicesRequest* req,
                                             v1::ListServicesResponse* response) {
  ASSIGN_OR_RETURN(auto caller, deps_.authorizer.Authorize(*ctx, "ListServices"));
  ASSIGN_OR_RETURN(auto jurisdiction, Jurisdiction(req->jurisdiction_id()));
  ASSIGN_OR_RETURN(auto language, Language(req->language()));
  ASSIGN_OR_RETURN(auto services, deps_.catalogue.All(jurisdiction));
  for (const auto& s : services) {
    if (s->active() || caller.is_admin()) *response->add_services() = ServiceToApi(*s, language);
  }
  return absl::OkStatus();
}

absl::Status RequestsService::DoGetService(grpc::ServerContextBase* ctx,
                                           const v1::GetServiceRequest* req,
                                           v1::Service* response) {
  ASSIGN_OR_RETURN(auto caller, deps_.authorizer.Authorize(*ctx, "GetService"));
  ASSIGN_OR_RETURN(auto jurisdiction, Jurisdiction(req->jurisdiction_id()));
  ASSIGN_OR_RETURN(auto language, Language(req->language()));
  if (!IsServiceCode(req->service_code())) return InvalidField("service_code", "malformed");
  ASSIGN_OR_RETURN(auto service, deps_.catalogue.Find(jurisdiction, req->service_code()));
  *response = ServiceToApi(*service, language);
  return absl::OkStatus();
}

absl::Status RequestsService::DoCreateService(grpc::ServerContextBase* ctx,
                                              const v1::CreateServiceRequest* req,
                                              v1::Service* response) {
  ASSIGN_OR_RETURN(auto caller, deps_.authorizer.Authorize(*ctx, "CreateService"));
  ASSIGN_OR_RETURN(auto jurisdiction, Jurisdiction(req->service().jurisdiction_id()));
  ASSIGN_OR_RETURN(auto stored, ServiceFromApi(req->service(), jurisdiction));
  const int64_t now = infra::UnixMillis(deps_.clock.Now());
  stored.set_created_ms(now);
  stored.set_updated_ms(now);
  RETURN_IF_ERROR(deps_.catalogue_store.Create(stored));
  deps_.catalogue.Invalidate(jurisdiction);
  *response = ServiceToApi(stored, "de");
  return absl::OkStatus();
}

absl::Status RequestsService::DoUpdateService(grpc::ServerContextBase* ctx,
                                              const v1::UpdateServiceRequest* req,
                                              v1::Service* response) {
  ASSIGN_OR_RETURN(auto caller, deps_.authorizer.Authorize(*ctx, "UpdateService"));
  ASSIGN_OR_RETURN(auto jurisdiction, Jurisdiction(req->service().jurisdiction_id()));
  if (!IsServiceCode(req->service_code())) return InvalidField("service_code", "malformed");
  if (!req->service().service_code().empty() &&
      req->service().service_code() != req->service_code()) {
    return InvalidField("service.service_code", "cannot be changed");
  }
  ASSIGN_OR_RETURN(auto current, deps_.catalogue_store.Get(jurisdiction, req->service_code()));
  // Merge the named fields (or every field given) into the current form, lists replaced.
  v1::Service merged = ServiceToApi(current, "de");
  google::protobuf::FieldMask mask = req->update_mask();
  if (mask.paths_size() == 0) {
    std::vector<const google::protobuf::FieldDescriptor*> present;
    req->service().GetReflection()->ListFields(req->service(), &present);
    for (const auto* f : present) mask.add_paths(f->name());
  }
  for (const auto& path : mask.paths()) {
    if (path == "service_code" || path == "jurisdiction_id" || path == "name" ||
        path == "description" || path == "service_notice") {
      continue;  // identity and output-only fields
    }
    if (!google::protobuf::util::FieldMaskUtil::GetFieldDescriptors(v1::Service::descriptor(), path,
                                                                    nullptr)) {
      return InvalidField("update_mask", StrCat("unknown field ", path));
    }
    google::protobuf::FieldMask one;
    one.add_paths(path);
    google::protobuf::util::FieldMaskUtil::MergeOptions options;
    options.set_replace_repeated_fields(true);
    options.set_replace_message_fields(true);
    google::protobuf::util::FieldMaskUtil::MergeMessageTo(req->service(), one, options, &merged);
  }
  ASSIGN_OR_RETURN(auto stored, ServiceFromApi(merged, jurisdiction));
  stored.set_created_ms(current.created_ms());
  stored.set_updated_ms(infra::UnixMillis(deps_.clock.Now()));
  RETURN_IF_ERROR(deps_.catalogue_store.Update(stored));
  deps_.catalogue.Invalidate(jurisdiction);
  *response = ServiceToApi(stored, "de");
  return absl::OkStatus();
}

absl::StatusOr<int> RequestsService::SeedCatalogue(const std::string& json,
                                                   const std::string& jurisdiction) {
  ASSIGN_OR_RETURN(const auto existing, deps_.catalogue_store.List(jurisdiction));
  if (!existing.empty()) return 0;
  v1::ListServicesResponse seed;
  const auto parsed =
      google::protobuf::util::JsonStringToMessage(StrCat("{\"services\":", json, "}"), &seed);
  if (!parsed.ok())
    return absl::InvalidArgumentError(StrCat("catalogue seed: ", parsed.message().as_string()));
  int created = 0;
  const int64_t now = infra::UnixMillis(deps_.clock.Now());
  for (const auto& service : seed.services()) {
    auto stored = ServiceFromApi(service, jurisdiction);
    if (!stored.ok())
      return absl::InvalidArgumentError(
          StrCat("catalogue seed ", service.service_code(), ": ", stored.status().message()));
    stored->set_created_ms(now);
    stored->set_updated_ms(now);
    const absl::Status s = deps_.catalogue_store.Create(*stored);
    if (s.ok())
      ++created;
    else if (s.code() != absl::StatusCode::kAlreadyExists)
      return s;
  }
  deps_.catalogue.Invalidate(jurisdiction);
  return created;
}

}  // namespace cityhub::requests
