import { useState } from "preact/hooks";
import { useI18n } from "../../i18n";
import { client, errorStatus, errorText } from "../../lib/api";
import { navigate, useLocation } from "../../lib/router";
import { Notice, Page, TextField } from "../../components/ui";

export function SignIn() {
  const { t } = useI18n();
  const loc = useLocation();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState("");

  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    setError("");
    try {
      await client.signIn(email, password);
      const next = loc.query.get("next");
      navigate(
        next && next.startsWith("/") && !next.startsWith("//") ? next : "/",
        { replace: true },
      );
    } catch (err) {
      setError(
        errorStatus(err) === 401
          ? t("auth.wrongCredentials")
          : errorText(err, t),
      );
    } finally {
      setBusy(false);
    }
  }

  return (
    <Page title={t("auth.signInTitle")}>
      <form onSubmit={submit} class="form">
        <TextField
          label={t("auth.email")}
          type="email"
          value={email}
          onValue={setEmail}
          required
          autoComplete="username"
        />
        <TextField
          label={t("auth.password")}
          type="password"
          value={password}
          onValue={setPassword}
          required
          autoComplete="current-password"
        />
        {error ? <Notice kind="error">{error}</Notice> : null}
        <button type="submit" class="button button--primary" disabled={busy}>
          {t("auth.signIn")}
        </button>
      </form>
      <p>
        <a href="/forgot-password">{t("auth.forgot")}</a>
      </p>
      <p>
        <a href="/register">{t("auth.noAccount")}</a>
      </p>
    </Page>
  );
}
