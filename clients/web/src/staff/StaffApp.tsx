import { useEffect } from "preact/hooks";
import { useI18n } from "../i18n";
import { useAccount } from "../lib/api";
import { match, useLocation, type Params } from "../lib/router";
import { adminRoutes } from "./admin/routes";
import { useStaffI18n } from "./i18n";
import type { StaffRoute } from "./routes";
import { workRoutes } from "./work/routes";

// The staff console (its own chunk, loaded by entry.tsx for operators and admins only): a
// desktop layout with a navigation bar over the routes of the work and admin areas.
const routes: StaffRoute[] = [...workRoutes, ...adminRoutes];

export function StaffApp() {
  const { t } = useStaffI18n();
  const app = useI18n();
  const me = useAccount();
  const loc = useLocation();
  const admin = !!me?.roles?.includes("admin");
  const visible = routes.filter((r) => admin || !r.admin);

  let params: Params = {};
  let route: StaffRoute | undefined;
  for (const r of visible) {
    const m = match(r.path, loc.path);
    if (m) {
      route = r;
      params = m;
      break;
    }
  }

  useEffect(() => {
    const h = document.getElementById("page-title");
    document.title = h?.textContent
      ? `${h.textContent} · ${t("shell.title")}`
      : t("shell.title");
  });

  const Screen = route?.screen;
  return (
    <div class="staff-shell">
      <a class="skip-link" href="#main">
        {app.t("app.skip")}
      </a>
      <header class="staff-top">
        <a href="/staff" class="brand">
          {t("shell.title")}
        </a>
        <nav aria-label={t("shell.nav")} class="staff-nav">
          {visible
            .filter((r) => r.nav)
            .map((r) => (
              <a
                key={r.path}
                href={r.path}
                aria-current={r === route ? "page" : undefined}
              >
                {t(r.nav!)}
              </a>
            ))}
        </nav>
        <a href="/" class="staff-resident">
          {t("shell.residentApp")}
        </a>
      </header>
      <main id="main" tabIndex={-1} class="staff-main">
        {Screen ? (
          <Screen key={loc.path} params={params} />
        ) : (
          <p role="alert">{t("shell.notFound")}</p>
        )}
      </main>
    </div>
  );
}
