import { useI18n } from "../../i18n";
import { useSignedIn } from "../../lib/api";
import { outboxCount } from "../../lib/outbox";
import { useLocation } from "../../lib/router";
import { useStore } from "../../lib/store";
import { Notice, Page } from "../../components/ui";

export function Home() {
  const { t } = useI18n();
  const signed = useSignedIn();
  const queued = useStore(outboxCount);
  const deleted = useLocation().query.get("deleted") === "1";
  return (
    <Page title={t("home.title")}>
      {deleted ? <Notice kind="ok">{t("privacy.deleted")}</Notice> : null}
      <p class="lead">{t("home.text")}</p>
      {queued > 0 ? (
        <Notice>{t("home.queued", { count: queued })}</Notice>
      ) : null}
      <div class="stack">
        <a class="button button--primary button--big" href="/report">
          {t("home.report")}
        </a>
        <a class="button" href="/near">
          {t("home.near")}
        </a>
      </div>
      {signed ? null : (
        <div class="card">
          <p>{t("home.signedOut")}</p>
          <div class="row">
            <a class="button" href="/register">
              {t("home.register")}
            </a>
            <a class="button" href="/sign-in">
              {t("home.signIn")}
            </a>
          </div>
        </div>
      )}
    </Page>
  );
}
