import type { StaffRoute } from "../routes";
import { Queue } from "./Queue";

// The operators' pages (owned by the work area).
export const workRoutes: StaffRoute[] = [
  { path: "/staff", screen: Queue, nav: "work.queue" },
];
