import { useState } from "preact/hooks";
import { useI18n } from "../../i18n";
import { client, errorStatus, errorText } from "../../lib/api";
import { useLocation } from "../../lib/router";
import { Notice, Page } from "../../components/ui";

/**
 * The unsubscribe link of a mail to an anonymous reporter: /unsubscribe?token=…. It asks for a
 * click, so that mail scanners that open links do not unsubscribe anyone (mail clients use the
 * List-Unsubscribe header's one-click POST instead).
 */
export function Unsubscribe() {
  const { t } = useI18n();
  const token = useLocation().query.get("token") ?? "";
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState(false);
  const [error, setError] = useState("");

  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    setError("");
    try {
      await client.requests.unsubscribe(token);
      setDone(true);
    } catch (err) {
      setError(
        errorStatus(err) === 404
          ? t("reporter.tokenInvalid")
          : errorText(err, t),
      );
    } finally {
      setBusy(false);
    }
  }

  return (
    <Page title={t("reporter.unsubscribeTitle")}>
      {!token ? (
        <Notice kind="error">{t("auth.tokenMissing")}</Notice>
      ) : done ? (
        <Notice kind="ok">{t("reporter.unsubscribed")}</Notice>
      ) : (
        <form onSubmit={submit}>
          <p>{t("reporter.unsubscribeText")}</p>
          {error ? <Notice kind="error">{error}</Notice> : null}
          <button class="button button--primary" type="submit" disabled={busy}>
            {t("reporter.unsubscribe")}
          </button>
        </form>
      )}
    </Page>
  );
}
