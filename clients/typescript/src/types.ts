// Names for the API's objects, taken from the generated `paths` by route (the routes are the
// fixed contract; schema names and which fields are required may change as the OpenAPI document
// grows more precise).
import type { paths } from "./generated/api.js";

type Method = "get" | "put" | "post" | "delete" | "patch";

type Operation<
  P extends keyof paths,
  M extends Method,
> = M extends keyof paths[P] ? NonNullable<paths[P][M]> : never;

type Json<X> = X extends { content?: { "application/json": infer J } }
  ? J
  : never;

type Success<R> = R extends { 200: infer S }
  ? Json<S>
  : R extends { 201: infer S }
    ? Json<S>
    : never;

/** The JSON answer of a route's success (200 or 201). */
export type ResponseOf<P extends keyof paths, M extends Method> =
  Operation<P, M> extends { responses: infer R } ? Success<R> : never;

/** The JSON body a route takes. */
export type BodyOf<P extends keyof paths, M extends Method> =
  Operation<P, M> extends { requestBody?: infer B }
    ? Json<NonNullable<B>>
    : never;

/** The query parameters a route takes. */
export type QueryOf<P extends keyof paths, M extends Method> =
  Operation<P, M> extends { parameters: { query?: infer Q } }
    ? NonNullable<Q>
    : never;

export type TokenPair = ResponseOf<"/v1/sessions", "post">;
export type Account = ResponseOf<"/v1/me", "get">;
export type RegisterBody = BodyOf<"/v1/accounts", "post">;
export type UpdateMeBody = BodyOf<"/v1/me", "patch">;
export type PersonalDataExport = ResponseOf<"/v1/me:export", "get">;

export type Service = ResponseOf<"/v1/services/{service_code}", "get">;
/** GET /v1/stats: figures over the requests received in [since, until). */
export type Stats = ResponseOf<"/v1/stats", "get">;
export type StatsQuery = QueryOf<"/v1/stats", "get">;
export type Media = ResponseOf<"/v1/media", "post">;
export type ServiceRequest = ResponseOf<"/v1/requests/{request_id}", "get">;
export type CreateRequestBody = BodyOf<"/v1/requests", "post">;
export type RequestFilters = Omit<QueryOf<"/v1/requests", "get">, "page_token">;
export type RequestListPage = ResponseOf<"/v1/requests", "get">;
export type Comment = ResponseOf<"/v1/requests/{request_id}/comments", "post">;
export type FollowState = ResponseOf<
  "/v1/requests/{request_id}:follow",
  "post"
>;
export type TransitionBody = BodyOf<
  "/v1/requests/{request_id}:transition",
  "post"
>;
export type FeedbackBody = Omit<
  BodyOf<"/v1/requests/{request_id}:feedback", "post">,
  "request_id"
>;
export type RequestFeedback = ResponseOf<
  "/v1/requests/{request_id}:feedback",
  "post"
>;
export type ReporterContact = ResponseOf<"/v1/requests:confirmContact", "post">;

export type Notification = ResponseOf<
  "/v1/notifications/{notification_id}:markRead",
  "post"
>;
export type NotificationListQuery = Omit<
  QueryOf<"/v1/notifications", "get">,
  "page_token"
>;
export type NotificationListPage = ResponseOf<"/v1/notifications", "get">;
export type NotificationPreferences = ResponseOf<
  "/v1/me/notificationPreferences",
  "get"
>;
export type Device = ResponseOf<"/v1/devices", "post">;
export type RegisterDeviceBody = BodyOf<"/v1/devices", "post">;
