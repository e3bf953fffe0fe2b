import { useState } from "preact/hooks";
import { useI18n } from "../../i18n";
import { client, errorStatus, errorText } from "../../lib/api";
import { useLocation } from "../../lib/router";
import { Notice, Page, TextField } from "../../components/ui";

/** The landing page of the password-reset mail: /reset-password?token=… */
export function ResetPassword() {
  const { t } = useI18n();
  const token = useLocation().query.get("token") ?? "";
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState("");
  const [done, setDone] = useState(false);

  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    setError("");
    try {
      await client.accounts.confirmPasswordReset(token, password);
      setDone(true);
    } catch (err) {
      setError(
        errorStatus(err) === 404 ? t("auth.tokenInvalid") : errorText(err, t),
      );
    } finally {
      setBusy(false);
    }
  }

  if (!token) {
    return (
      <Page title={t("auth.resetTitle")}>
        <Notice kind="error">{t("auth.tokenMissing")}</Notice>
      </Page>
    );
  }
  return (
    <Page title={t("auth.resetTitle")}>
      {done ? (
        <>
          <Notice kind="ok">{t("auth.resetDone")}</Notice>
          <a class="button button--primary" href="/sign-in">
            {t("auth.signIn")}
          </a>
        </>
      ) : (
        <form onSubmit={submit} class="form">
          <TextField
            label={t("auth.newPassword")}
            hint={t("auth.passwordHint")}
            type="password"
            value={password}
            onValue={setPassword}
            required
            minLength={8}
            autoComplete="new-password"
          />
          {error ? <Notice kind="error">{error}</Notice> : null}
          <button type="submit" class="button button--primary" disabled={busy}>
            {t("auth.resetSave")}
          </button>
        </form>
      )}
    </Page>
  );
}
