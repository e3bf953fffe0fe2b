import { useState } from "preact/hooks";
import { useI18n } from "../../i18n";
import { client, errorText, useAccount, useSignedIn } from "../../lib/api";
import { pushState } from "../../lib/push";
import { navigate } from "../../lib/router";
import { useStore } from "../../lib/store";
import { Notice, Page } from "../../components/ui";

export function Account() {
  const { t } = useI18n();
  const signed = useSignedIn();
  const me = useAccount();
  const push = useStore(pushState);
  const [note, setNote] = useState("");

  if (!signed) {
    return (
      <Page title={t("account.title")}>
        <p>{t("home.signedOut")}</p>
        <div class="stack">
          <a class="button button--primary" href="/sign-in">
            {t("auth.signIn")}
          </a>
          <a class="button" href="/register">
            {t("home.register")}
          </a>
        </div>
      </Page>
    );
  }

  async function resend() {
    try {
      await client.accounts.resendVerification();
      setNote(t("auth.resent"));
    } catch (e) {
      setNote(errorText(e, t));
    }
  }

  return (
    <Page title={t("account.title")}>
      {me ? (
        <p>
          {t("auth.signedInAs", { name: `${me.display_name} (${me.email})` })}
        </p>
      ) : null}
      {me && !me.email_verified ? (
        <div class="card">
          <p>{t("auth.unverified")}</p>
          <button type="button" class="button" onClick={resend}>
            {t("auth.resend")}
          </button>
          {note ? <Notice>{note}</Notice> : null}
        </div>
      ) : null}
      <ul class="menu">
        <li>
          <a href="/settings/notifications">{t("account.settings")}</a>
        </li>
        <li>
          <a href="/settings/privacy">{t("account.privacy")}</a>
        </li>
      </ul>
      <p class="muted small">
        {t("account.push")}:{" "}
        {push === "on" ? t("account.pushOn") : t("account.pushUnavailable")}
      </p>
      <button
        type="button"
        class="button"
        onClick={async () => {
          await client.signOut();
          navigate("/");
        }}
      >
        {t("auth.signOut")}
      </button>
    </Page>
  );
}
