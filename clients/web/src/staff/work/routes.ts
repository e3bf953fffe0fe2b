import type { StaffRoute } from "../routes";
import { Queue } from "./Queue";
import { StaffMap } from "./StaffMap";
import { StaffRequest } from "./StaffRequest";

// The operators' pages (owned by the work area).
export const workRoutes: StaffRoute[] = [
  { path: "/staff", screen: Queue, nav: "work.queue" },
  { path: "/staff/map", screen: StaffMap, nav: "work.map" },
  { path: "/staff/requests/:id", screen: StaffRequest },
];
