// The API's types, as the SDK generates them from /openapi.json. Screens import them from here
// so that a renamed type is fixed in one place.
export type {
  Account,
  Comment,
  CreateRequestBody,
  Notification,
  NotificationPreferences,
  Service,
  ServiceRequest,
} from "@cityhub/sdk";
import type { Service, ServiceRequest } from "@cityhub/sdk";

export type ServiceAttribute = NonNullable<Service["attributes"]>[number];
export type StatusChange = NonNullable<ServiceRequest["history"]>[number];
