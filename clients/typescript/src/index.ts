// @cityhub/sdk: a typed client for the cityhub HTTP API, for browsers and Node >= 18.
export { CityhubClient } from "./client.js";
export type { ClientOptions, CreateOptions, UploadOptions } from "./client.js";
export { AdminApi, SERVICE_EDITABLE_FIELDS } from "./admin.js";
export type {
  ApiKey,
  CreatedApiKey,
  CreateWebhookBody,
  District,
  Districts,
  Geometry,
  RoutingRule,
  ServiceAttributeInput,
  ServiceField,
  ServiceInput,
  SetRolesBody,
  Webhook,
} from "./admin.js";
export type { CallOptions, RetryOptions } from "./core.js";
export { CityhubError, GrpcCode } from "./errors.js";
export { StaffApi } from "./staff.js";
export type {
  BulkOutcome,
  ModerateBody,
  QueueCount,
  QueueFilters,
  RerouteBody,
  ResponseTemplate,
} from "./staff.js";
export { LocalStorageTokenStore, MemoryTokenStore } from "./tokens.js";
export type { TokenStore, Tokens } from "./tokens.js";
export type { StreamOptions } from "./stream.js";
export { SseParser } from "./sse.js";
export type { SseEvent } from "./sse.js";
export { paginate } from "./paging.js";
export type { components, paths } from "./generated/api.js";
export type {
  Account,
  BodyOf,
  Comment,
  CreateRequestBody,
  Device,
  FeedbackBody,
  FollowState,
  Media,
  Notification,
  NotificationListQuery,
  NotificationPreferences,
  PersonalDataExport,
  QueryOf,
  RegisterBody,
  RegisterDeviceBody,
  ReporterContact,
  RequestFeedback,
  RequestFilters,
  ResponseOf,
  Service,
  ServiceRequest,
  ServiceRequest as Request,
  Stats,
  StatsQuery,
  TokenPair,
  TransitionBody,
  UpdateMeBody,
} from "./types.js";
