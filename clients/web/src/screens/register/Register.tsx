import { useState } from "preact/hooks";
import { useI18n, type Language } from "../../i18n";
import { client, errorText } from "../../lib/api";
import { Notice, Page, TextField, useId } from "../../components/ui";

export function Register() {
  const { t, lang } = useI18n();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [name, setName] = useState("");
  const [mailLang, setMailLang] = useState<Language>(lang);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState("");
  const [done, setDone] = useState(false);
  const langId = useId();

  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    setError("");
    try {
      await client.accounts.register({
        email,
        password,
        display_name: name,
        language: mailLang,
      });
      setDone(true);
    } catch (err) {
      setError(errorText(err, t));
    } finally {
      setBusy(false);
    }
  }

  if (done) {
    return (
      <Page title={t("auth.registerTitle")}>
        <Notice kind="ok">{t("auth.registered", { email })}</Notice>
        <a class="button" href="/sign-in">
          {t("auth.signIn")}
        </a>
      </Page>
    );
  }
  return (
    <Page title={t("auth.registerTitle")}>
      <form onSubmit={submit} class="form">
        <TextField
          label={t("auth.displayName")}
          value={name}
          onValue={setName}
          required
          autoComplete="name"
          maxLength={80}
        />
        <TextField
          label={t("auth.email")}
          type="email"
          value={email}
          onValue={setEmail}
          required
          autoComplete="email"
        />
        <TextField
          label={t("auth.password")}
          hint={t("auth.passwordHint")}
          type="password"
          value={password}
          onValue={setPassword}
          required
          minLength={8}
          autoComplete="new-password"
        />
        <div class="field">
          <label for={langId}>{t("auth.language")}</label>
          <select
            id={langId}
            value={mailLang}
            onChange={(e) => setMailLang(e.currentTarget.value as Language)}
          >
            <option value="de">Deutsch</option>
            <option value="en">English</option>
          </select>
        </div>
        {error ? <Notice kind="error">{error}</Notice> : null}
        <button type="submit" class="button button--primary" disabled={busy}>
          {t("auth.register")}
        </button>
      </form>
      <p>
        <a href="/sign-in">{t("auth.haveAccount")}</a>
      </p>
    </Page>
  );
}
