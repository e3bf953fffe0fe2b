import { useState } from "preact/hooks";
import { useI18n } from "../../i18n";
import { client, errorText } from "../../lib/api";
import { Notice, Page, TextField } from "../../components/ui";

export function ForgotPassword() {
  const { t } = useI18n();
  const [email, setEmail] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState("");
  const [sent, setSent] = useState(false);

  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    setError("");
    try {
      await client.accounts.requestPasswordReset(email);
      setSent(true);
    } catch (err) {
      setError(errorText(err, t));
    } finally {
      setBusy(false);
    }
  }

  return (
    <Page title={t("auth.forgotTitle")}>
      {sent ? (
        <Notice kind="ok">{t("auth.forgotSent")}</Notice>
      ) : (
        <form onSubmit={submit} class="form">
          <p>{t("auth.forgotText")}</p>
          <TextField
            label={t("auth.email")}
            type="email"
            value={email}
            onValue={setEmail}
            required
            autoComplete="email"
          />
          {error ? <Notice kind="error">{error}</Notice> : null}
          <button type="submit" class="button button--primary" disabled={busy}>
            {t("auth.forgotSend")}
          </button>
        </form>
      )}
    </Page>
  );
}
