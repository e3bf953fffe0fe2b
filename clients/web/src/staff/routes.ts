import type { ComponentType } from "preact";
import type { Params } from "../lib/router";
import type { StaffKey } from "./i18n";

export interface StaffRoute {
  /** A pattern under /staff, as the app's router matches them ("/staff/requests/:id"). */
  path: string;
  screen: ComponentType<{ params: Params }>;
  /** Shown in the console's navigation when set. */
  nav?: StaffKey;
  /** Admins only (operators see neither the link nor the page). */
  admin?: boolean;
}
