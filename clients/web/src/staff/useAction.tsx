import { useState } from "preact/hooks";
import { useI18n } from "../i18n";
import { errorText } from "../lib/api";

/** Runs a staff action (create, delete, moderate, …): a busy flag while it runs, the server's
 * error (it names the field) as `error` and as an `alert` to render; `fail` shows an error of
 * the page's own (a check before calling). `run` resolves to whether the action succeeded. */
export function useAction() {
  const app = useI18n();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState("");
  const run = async (fn: () => Promise<unknown>): Promise<boolean> => {
    setBusy(true);
    setError("");
    try {
      await fn();
      return true;
    } catch (e) {
      setError(errorText(e, app.t));
      return false;
    } finally {
      setBusy(false);
    }
  };
  const alert = error ? <p role="alert">{error}</p> : null;
  return { busy, error, run, fail: setError, alert };
}
