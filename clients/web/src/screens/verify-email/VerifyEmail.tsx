import { useI18n } from "../../i18n";
import { client, loadAccount } from "../../lib/api";
import { useRedeemToken } from "../../lib/redeem";
import { useLocation } from "../../lib/router";
import { Loading, Notice, Page } from "../../components/ui";

/** Verifies the address, then says whether the session still holds or must sign in again. */
async function verify(token: string): Promise<"ok" | "again"> {
  await client.accounts.verifyEmail(token);
  let next: "ok" | "again" = "ok";
  if (client.isSignedIn()) {
    // The access token still says "unverified" until the next refresh.
    try {
      await client.refreshSession();
    } catch {
      await client.signOut();
      next = "again";
    }
  }
  await loadAccount();
  return next;
}

/** The landing page of the verification mail: /verify-email?token=… confirms at once. */
export function VerifyEmail() {
  const { t } = useI18n();
  const token = useLocation().query.get("token") ?? "";
  const result = useRedeemToken(token, verify, "auth.tokenInvalid");

  return (
    <Page title={t("auth.verifyTitle")}>
      {!token ? (
        <Notice kind="error">{t("auth.tokenMissing")}</Notice>
      ) : result.state === "busy" ? (
        <Loading />
      ) : result.state === "error" ? (
        <Notice kind="error">{result.error}</Notice>
      ) : (
        <>
          <Notice kind="ok">{t("auth.verified")}</Notice>
          <p>
            {result.value === "again"
              ? t("auth.verifiedSignInAgain")
              : t("auth.verifiedSignIn")}
          </p>
          <a class="button button--primary" href="/sign-in">
            {t("auth.signIn")}
          </a>
        </>
      )}
    </Page>
  );
}
