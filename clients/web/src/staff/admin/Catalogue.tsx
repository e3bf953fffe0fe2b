import { client, errorText, useLoad } from "../../lib/api";
import { useI18n } from "../../i18n";
import { useStaffI18n } from "../i18n";

// The catalogue (a first version: the categories, read only).
export function Catalogue() {
  const { t } = useStaffI18n();
  const app = useI18n();
  const { data, error, loading } = useLoad(
    () => client.services.list(),
    [app.lang],
  );
  return (
    <section class="page" aria-labelledby="page-title">
      <h1 id="page-title" tabIndex={-1}>
        {t("admin.catalogue")}
      </h1>
      {loading ? <p role="status">{app.t("app.loading")}</p> : null}
      {error ? <p role="alert">{errorText(error, app.t)}</p> : null}
      <ul>
        {(data ?? []).map((s) => (
          <li key={s.service_code}>
            {s.name} <code>{s.service_code}</code>
          </li>
        ))}
      </ul>
    </section>
  );
}
