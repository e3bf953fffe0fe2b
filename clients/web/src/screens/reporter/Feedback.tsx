import { useState } from "preact/hooks";
import { useI18n } from "../../i18n";
import { client, errorStatus, errorText } from "../../lib/api";
import { useLocation } from "../../lib/router";
import { Notice, Page, TextArea, useId } from "../../components/ui";

/**
 * The feedback link of the "resolved" mail: /feedback?token=…. The token names its request (the
 * part before the first dot), so no account is needed.
 */
export function Feedback() {
  const { t } = useI18n();
  const token = useLocation().query.get("token") ?? "";
  const requestId = token.split(".")[0] ?? "";
  const [fixed, setFixed] = useState<boolean | null>(null);
  const [rating, setRating] = useState(0);
  const [text, setText] = useState("");
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState(false);
  const [error, setError] = useState("");
  const fixedId = useId("fixed");
  const ratingId = useId("rating");

  async function submit(e: Event) {
    e.preventDefault();
    if (fixed === null || rating < 1) {
      setError(t("reporter.feedbackIncomplete"));
      return;
    }
    setBusy(true);
    setError("");
    try {
      await client.requests.feedback(requestId, { fixed, rating, text, token });
      setDone(true);
    } catch (err) {
      const status = errorStatus(err);
      setError(
        status === 404
          ? t("reporter.tokenInvalid")
          : status === 409
            ? t("reporter.feedbackNotNow")
            : errorText(err, t),
      );
    } finally {
      setBusy(false);
    }
  }

  if (!token) {
    return (
      <Page title={t("reporter.feedbackTitle")}>
        <Notice kind="error">{t("auth.tokenMissing")}</Notice>
      </Page>
    );
  }
  if (done) {
    return (
      <Page title={t("reporter.feedbackTitle")}>
        <Notice kind="ok">
          {fixed
            ? t("reporter.feedbackThanks")
            : t("reporter.feedbackReopened")}
        </Notice>
        <a class="button" href={`/requests/${requestId}`}>
          {t("reporter.openReport")}
        </a>
      </Page>
    );
  }
  return (
    <Page title={t("reporter.feedbackTitle")}>
      <form onSubmit={submit}>
        <fieldset class="field" id={fixedId}>
          <legend>{t("reporter.feedbackFixed")}</legend>
          <label>
            <input
              type="radio"
              name="fixed"
              checked={fixed === true}
              onChange={() => setFixed(true)}
            />{" "}
            {t("reporter.yes")}
          </label>
          <label>
            <input
              type="radio"
              name="fixed"
              checked={fixed === false}
              onChange={() => setFixed(false)}
            />{" "}
            {t("reporter.no")}
          </label>
        </fieldset>
        <div class="field">
          <label for={ratingId}>{t("reporter.feedbackRating")}</label>
          <select
            id={ratingId}
            value={String(rating)}
            onChange={(e) => setRating(Number(e.currentTarget.value))}
          >
            <option value="0">–</option>
            {[1, 2, 3, 4, 5].map((n) => (
              <option key={n} value={String(n)}>
                {n}
              </option>
            ))}
          </select>
        </div>
        <TextArea
          label={t("reporter.feedbackText")}
          value={text}
          maxLength={1000}
          onValue={setText}
        />
        {error ? <Notice kind="error">{error}</Notice> : null}
        <button class="button button--primary" type="submit" disabled={busy}>
          {t("reporter.feedbackSend")}
        </button>
      </form>
    </Page>
  );
}
