import type { StaffRoute } from "../routes";
import { lazyScreen } from "./lazy";

// The administrators' pages (owned by the admin area), each in its own chunk.
const catalogue = lazyScreen(() =>
  import("./catalogue/Catalogue").then((m) => m.Catalogue),
);

export const adminRoutes: StaffRoute[] = [
  {
    // operators too: their department's figures beside the city's
    path: "/staff/dashboard",
    screen: lazyScreen(() =>
      import("./dashboard/Dashboard").then((m) => m.Dashboard),
    ),
    nav: "admin.dashboard",
  },
  {
    path: "/staff/admin/catalogue",
    screen: catalogue,
    nav: "admin.catalogue",
    admin: true,
  },
  { path: "/staff/admin/catalogue/new", screen: catalogue, admin: true },
  { path: "/staff/admin/catalogue/edit/:code", screen: catalogue, admin: true },
  {
    path: "/staff/admin/accounts",
    screen: lazyScreen(() =>
      import("./accounts/Accounts").then((m) => m.Accounts),
    ),
    nav: "admin.accounts",
    admin: true,
  },
  {
    path: "/staff/admin/keys",
    screen: lazyScreen(() => import("./keys/ApiKeys").then((m) => m.ApiKeys)),
    nav: "admin.keys",
    admin: true,
  },
  {
    path: "/staff/admin/webhooks",
    screen: lazyScreen(() =>
      import("./webhooks/Webhooks").then((m) => m.Webhooks),
    ),
    nav: "admin.webhooks",
    admin: true,
  },
  {
    path: "/staff/admin/routing",
    screen: lazyScreen(() =>
      import("./routing/Routing").then((m) => m.Routing),
    ),
    nav: "admin.routing",
    admin: true,
  },
  {
    path: "/staff/admin/geography",
    screen: lazyScreen(() =>
      import("./geography/Geography").then((m) => m.Geography),
    ),
    nav: "admin.geography",
    admin: true,
  },
];
