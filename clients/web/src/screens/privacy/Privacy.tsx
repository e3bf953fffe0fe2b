import { useEffect, useState } from "preact/hooks";
import { useI18n } from "../../i18n";
import { client, errorText } from "../../lib/api";
import { navigate } from "../../lib/router";
import { Notice, Page, TextField } from "../../components/ui";

function ExportData() {
  const { t } = useI18n();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState("");
  const [file, setFile] = useState<{ url: string; name: string } | null>(null);
  useEffect(() => () => file && URL.revokeObjectURL(file.url), [file]);

  async function run() {
    setBusy(true);
    setError("");
    try {
      const data = await client.accounts.exportMyData();
      const blob = new Blob([JSON.stringify(data, null, 2)], {
        type: "application/json",
      });
      const name = `cityhub-data-${new Date().toISOString().slice(0, 10)}.json`;
      const url = URL.createObjectURL(blob);
      setFile({ url, name });
      const a = document.createElement("a");
      a.href = url;
      a.download = name;
      document.body.appendChild(a);
      a.click();
      a.remove();
    } catch (e) {
      setError(errorText(e, t));
    } finally {
      setBusy(false);
    }
  }

  return (
    <section class="card" aria-labelledby="export-title">
      <h2 id="export-title">{t("privacy.exportTitle")}</h2>
      <p>{t("privacy.exportText")}</p>
      <button type="button" class="button" disabled={busy} onClick={run}>
        {t("privacy.export")}
      </button>
      {file ? (
        <p role="status">
          {t("privacy.exportReady", { file: "" })}
          <a href={file.url} download={file.name}>
            {file.name}
          </a>
        </p>
      ) : null}
      {error ? <Notice kind="error">{error}</Notice> : null}
    </section>
  );
}

function DeleteAccount() {
  const { t } = useI18n();
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState("");
  const [done, setDone] = useState(false);

  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    setError("");
    try {
      await client.accounts.deleteAccount(password);
      setDone(true);
      navigate("/?deleted=1", { replace: true });
    } catch (err) {
      setError(errorText(err, t));
    } finally {
      setBusy(false);
    }
  }

  if (done) return <Notice kind="ok">{t("privacy.deleted")}</Notice>;
  return (
    <section class="card card--danger" aria-labelledby="delete-title">
      <h2 id="delete-title">{t("privacy.deleteTitle")}</h2>
      <p>{t("privacy.deleteText")}</p>
      <form class="form" onSubmit={submit}>
        <TextField
          label={t("privacy.deleteConfirm")}
          type="password"
          autoComplete="current-password"
          required
          value={password}
          onValue={setPassword}
        />
        {error ? <Notice kind="error">{error}</Notice> : null}
        <button
          type="submit"
          class="button button--danger"
          disabled={busy || !password}
        >
          {t("privacy.delete")}
        </button>
      </form>
    </section>
  );
}

export function Privacy() {
  const { t } = useI18n();
  return (
    <Page title={t("privacy.title")}>
      <ExportData />
      <DeleteAccount />
    </Page>
  );
}
