import type { ComponentType } from "preact";
import { useEffect, useRef } from "preact/hooks";
import { setLanguage, useI18n, type Language } from "./i18n";
import { useSignedIn } from "./lib/api";
import { unread } from "./lib/inbox";
import { match, useLocation, type Params } from "./lib/router";
import { useStore } from "./lib/store";
import { Page } from "./components/ui";
import { Account } from "./screens/account/Account";
import { ForgotPassword } from "./screens/forgot-password/ForgotPassword";
import { Home } from "./screens/home/Home";
import { Inbox } from "./screens/inbox/Inbox";
import { MyReports } from "./screens/my-reports/MyReports";
import { Near } from "./screens/near/Near";
import { Preferences } from "./screens/preferences/Preferences";
import { Privacy } from "./screens/privacy/Privacy";
import { Register } from "./screens/register/Register";
import { ConfirmContact } from "./screens/reporter/ConfirmContact";
import { Feedback } from "./screens/reporter/Feedback";
import { Unsubscribe } from "./screens/reporter/Unsubscribe";
import { Report } from "./screens/report/Report";
import { RequestPage } from "./screens/request/RequestPage";
import { ResetPassword } from "./screens/reset-password/ResetPassword";
import { SignIn } from "./screens/sign-in/SignIn";
import { VerifyEmail } from "./screens/verify-email/VerifyEmail";
import { isStaffPath, StaffEntry } from "./staff/entry";

interface Route {
  path: string;
  screen: ComponentType<{ params: Params }>;
  auth?: boolean;
}

const routes: Route[] = [
  { path: "/", screen: Home },
  { path: "/report", screen: Report },
  { path: "/near", screen: Near },
  { path: "/requests/:id", screen: RequestPage },
  { path: "/my-reports", screen: MyReports, auth: true },
  { path: "/inbox", screen: Inbox, auth: true },
  { path: "/account", screen: Account },
  { path: "/settings/notifications", screen: Preferences, auth: true },
  { path: "/settings/privacy", screen: Privacy, auth: true },
  { path: "/sign-in", screen: SignIn },
  { path: "/register", screen: Register },
  { path: "/verify-email", screen: VerifyEmail },
  { path: "/forgot-password", screen: ForgotPassword },
  { path: "/reset-password", screen: ResetPassword },
  { path: "/confirm-contact", screen: ConfirmContact },
  { path: "/unsubscribe", screen: Unsubscribe },
  { path: "/feedback", screen: Feedback },
];

function NotFound() {
  const { t } = useI18n();
  return (
    <Page title={t("app.notFound")}>
      <p>{t("app.notFoundText")}</p>
      <a class="button" href="/">
        {t("app.home")}
      </a>
    </Page>
  );
}

function SignInFirst() {
  const { t } = useI18n();
  const loc = useLocation();
  return (
    <Page title={t("auth.signInTitle")}>
      <p>{t("app.signInRequired")}</p>
      <a class="button" href={`/sign-in?next=${encodeURIComponent(loc.path)}`}>
        {t("auth.signIn")}
      </a>
    </Page>
  );
}

function LanguageSwitch() {
  const { lang, t } = useI18n();
  return (
    <label class="lang">
      <span class="visually-hidden">{t("app.language")}</span>
      <select
        aria-label={t("app.language")}
        value={lang}
        onChange={(e) => setLanguage(e.currentTarget.value as Language)}
      >
        <option value="de" lang="de">
          Deutsch
        </option>
        <option value="en" lang="en">
          English
        </option>
      </select>
    </label>
  );
}

function NavLink(props: {
  href: string;
  label: string;
  icon: string;
  badge?: number;
}) {
  const loc = useLocation();
  const { t } = useI18n();
  const current =
    props.href === "/"
      ? loc.path === "/"
      : loc.path === props.href || loc.path.startsWith(props.href + "/");
  return (
    <a
      href={props.href}
      class="nav-link"
      aria-current={current ? "page" : undefined}
    >
      <span class="nav-icon" aria-hidden="true">
        {props.icon}
      </span>
      <span class="nav-label">{props.label}</span>
      {props.badge ? (
        <span class="badge" data-testid="unread-badge">
          <span aria-hidden="true">
            {props.badge > 99 ? "99+" : props.badge}
          </span>
          <span class="visually-hidden">
            {t("nav.unread", { count: props.badge })}
          </span>
        </span>
      ) : null}
    </a>
  );
}

function BottomNav() {
  const { t } = useI18n();
  const signed = useSignedIn();
  const count = useStore(unread);
  return (
    <nav class="bottom-nav" aria-label={t("nav.main")}>
      {signed ? null : <NavLink href="/" icon="⌂" label={t("nav.home")} />}
      <NavLink href="/report" icon="+" label={t("nav.report")} />
      <NavLink href="/near" icon="◎" label={t("nav.near")} />
      {signed ? (
        <NavLink href="/my-reports" icon="☰" label={t("nav.mine")} />
      ) : null}
      {signed ? (
        <NavLink href="/inbox" icon="✉" label={t("nav.inbox")} badge={count} />
      ) : null}
      <NavLink href="/account" icon="●" label={t("nav.account")} />
    </nav>
  );
}

export function App() {
  const loc = useLocation();
  // The staff console has its own layout and chunk; only its door is in this bundle.
  if (isStaffPath(loc.path)) return <StaffEntry />;
  return <ResidentApp />;
}

function ResidentApp() {
  const loc = useLocation();
  const signed = useSignedIn();
  const { t } = useI18n();
  const first = useRef(true);

  let params: Params = {};
  let route: Route | undefined;
  for (const r of routes) {
    const m = match(r.path, loc.path);
    if (m) {
      route = r;
      params = m;
      break;
    }
  }
  const Screen = !route
    ? NotFound
    : route.auth && !signed
      ? SignInFirst
      : route.screen;

  // Focus moves to the new page's heading on every route change (not on the first load).
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    const h = document.getElementById("page-title");
    (h ?? document.getElementById("main"))?.focus();
  }, [loc.path]);

  useEffect(() => {
    const h = document.getElementById("page-title");
    document.title = h?.textContent
      ? `${h.textContent} · ${t("app.name")}`
      : t("app.name");
  });

  return (
    <div class="shell">
      <a class="skip-link" href="#main">
        {t("app.skip")}
      </a>
      <header class="top-bar">
        <a href="/" class="brand">
          {t("app.name")}
        </a>
        <LanguageSwitch />
      </header>
      <main id="main" tabIndex={-1}>
        <Screen key={loc.path} params={params} />
      </main>
      <BottomNav />
    </div>
  );
}
