import { useEffect, useState } from "preact/hooks";
import { useI18n } from "../../i18n";
import { client, errorStatus, errorText, loadAccount } from "../../lib/api";
import { useLocation } from "../../lib/router";
import { Loading, Notice, Page } from "../../components/ui";

/** The landing page of the verification mail: /verify-email?token=… confirms at once. */
export function VerifyEmail() {
  const { t } = useI18n();
  const token = useLocation().query.get("token") ?? "";
  const [state, setState] = useState<"busy" | "ok" | "again" | "error">("busy");
  const [error, setError] = useState("");

  useEffect(() => {
    if (!token) return;
    let live = true;
    (async () => {
      try {
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
        if (live) setState(next);
      } catch (err) {
        if (!live) return;
        setError(
          errorStatus(err) === 404 ? t("auth.tokenInvalid") : errorText(err, t),
        );
        setState("error");
      }
    })();
    return () => {
      live = false;
    };
  }, [token]);

  return (
    <Page title={t("auth.verifyTitle")}>
      {!token ? (
        <Notice kind="error">{t("auth.tokenMissing")}</Notice>
      ) : state === "busy" ? (
        <Loading />
      ) : state === "error" ? (
        <Notice kind="error">{error}</Notice>
      ) : (
        <>
          <Notice kind="ok">{t("auth.verified")}</Notice>
          <p>
            {state === "again"
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
