import type { StaffRoute } from "../routes";
import { Catalogue } from "./Catalogue";

// The administrators' pages (owned by the admin area).
export const adminRoutes: StaffRoute[] = [
  {
    path: "/staff/admin/services",
    screen: Catalogue,
    nav: "admin.catalogue",
    admin: true,
  },
];
