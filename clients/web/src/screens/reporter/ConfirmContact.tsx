import { useI18n } from "../../i18n";
import { client } from "../../lib/api";
import { useRedeemToken } from "../../lib/redeem";
import { useLocation } from "../../lib/router";
import { Loading, Notice, Page } from "../../components/ui";

/** The landing page of the mail to an anonymous reporter: /confirm-contact?token=… */
export function ConfirmContact() {
  const { t } = useI18n();
  const token = useLocation().query.get("token") ?? "";
  const result = useRedeemToken(
    token,
    async (token) =>
      (await client.requests.confirmContact(token)).request_id ?? "",
    "reporter.tokenInvalid",
  );

  return (
    <Page title={t("reporter.confirmTitle")}>
      {!token ? (
        <Notice kind="error">{t("auth.tokenMissing")}</Notice>
      ) : result.state === "busy" ? (
        <Loading />
      ) : result.state === "error" ? (
        <Notice kind="error">{result.error}</Notice>
      ) : (
        <>
          <Notice kind="ok">{t("reporter.confirmed")}</Notice>
          {result.value ? (
            <a class="button" href={`/requests/${result.value}`}>
              {t("reporter.openReport")}
            </a>
          ) : null}
        </>
      )}
    </Page>
  );
}
