import type { ComponentType } from "preact";
import { useEffect, useState } from "preact/hooks";
import { useI18n } from "../i18n";
import { useAccount, useSignedIn } from "../lib/api";
import { useLocation } from "../lib/router";
import { Page } from "../components/ui";

// The staff console's door, the only staff code in the resident bundle: it decides from the
// signed-in account's roles whether to load the console's chunk at all. Citizens and anonymous
// visitors never download it (the browser test checks the network log).

export function isStaffPath(path: string): boolean {
  return path === "/staff" || path.startsWith("/staff/");
}

export function isStaff(roles: readonly string[] | undefined): boolean {
  return !!roles?.some((r) => r === "operator" || r === "admin");
}

let chunk: Promise<ComponentType> | null = null;
function loadConsole(): Promise<ComponentType> {
  chunk ??= import("./StaffApp").then((m) => m.StaffApp);
  return chunk;
}

export function StaffEntry() {
  const { t } = useI18n();
  const signed = useSignedIn();
  const me = useAccount();
  const loc = useLocation();
  const staff = isStaff(me?.roles);
  const [Console, setConsole] = useState<ComponentType | null>(null);
  const [failed, setFailed] = useState(false);

  useEffect(() => {
    if (!staff || Console) return;
    loadConsole().then(
      (c) => setConsole(() => c),
      () => setFailed(true),
    );
  }, [staff]);

  useEffect(() => {
    document.title = `${t("staff.title")} · ${t("app.name")}`;
  }, [t]);

  let body;
  if (!signed) {
    body = (
      <Page title={t("staff.title")}>
        <p>{t("staff.signIn")}</p>
        <a
          class="button"
          href={`/sign-in?next=${encodeURIComponent(loc.path)}`}
        >
          {t("auth.signIn")}
        </a>
      </Page>
    );
  } else if (!me) {
    body = <p role="status">{t("app.loading")}</p>;
  } else if (!staff) {
    body = (
      <Page title={t("staff.title")}>
        <p data-testid="staff-denied">{t("staff.onlyStaff")}</p>
        <a class="button" href="/">
          {t("app.home")}
        </a>
      </Page>
    );
  } else if (failed) {
    body = <p role="alert">{t("app.offline")}</p>;
  } else if (!Console) {
    body = <p role="status">{t("app.loading")}</p>;
  } else {
    return <Console />;
  }
  return (
    <div class="shell">
      <main id="main" tabIndex={-1}>
        {body}
      </main>
    </div>
  );
}
