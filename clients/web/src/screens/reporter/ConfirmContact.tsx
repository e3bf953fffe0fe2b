import { useEffect, useState } from "preact/hooks";
import { useI18n } from "../../i18n";
import { client, errorStatus, errorText } from "../../lib/api";
import { useLocation } from "../../lib/router";
import { Loading, Notice, Page } from "../../components/ui";

/** The landing page of the mail to an anonymous reporter: /confirm-contact?token=… */
export function ConfirmContact() {
  const { t } = useI18n();
  const token = useLocation().query.get("token") ?? "";
  const [state, setState] = useState<"busy" | "ok" | "error">("busy");
  const [requestId, setRequestId] = useState("");
  const [error, setError] = useState("");

  useEffect(() => {
    if (!token) return;
    let live = true;
    (async () => {
      try {
        const answer = await client.requests.confirmContact(token);
        if (!live) return;
        setRequestId(answer.request_id ?? "");
        setState("ok");
      } catch (err) {
        if (!live) return;
        setError(
          errorStatus(err) === 404
            ? t("reporter.tokenInvalid")
            : errorText(err, t),
        );
        setState("error");
      }
    })();
    return () => {
      live = false;
    };
  }, [token]);

  return (
    <Page title={t("reporter.confirmTitle")}>
      {!token ? (
        <Notice kind="error">{t("auth.tokenMissing")}</Notice>
      ) : state === "busy" ? (
        <Loading />
      ) : state === "error" ? (
        <Notice kind="error">{error}</Notice>
      ) : (
        <>
          <Notice kind="ok">{t("reporter.confirmed")}</Notice>
          {requestId ? (
            <a class="button" href={`/requests/${requestId}`}>
              {t("reporter.openReport")}
            </a>
          ) : null}
        </>
      )}
    </Page>
  );
}
