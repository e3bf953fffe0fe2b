import { formatDate } from "../../i18n";
import { client, errorText, useLoad } from "../../lib/api";
import type { ServiceRequest } from "../../lib/types";
import { useI18n } from "../../i18n";
import { useStaffI18n } from "../i18n";

// The triage queue (a first version: the newest requests the caller may see).
export function Queue() {
  const { t } = useStaffI18n();
  const app = useI18n();
  const { data, error, loading } = useLoad(
    () => client.requests.listPage({ page_size: 50 }),
    [],
  );
  const rows: ServiceRequest[] = data?.requests ?? [];
  return (
    <section class="page" aria-labelledby="page-title">
      <h1 id="page-title" tabIndex={-1}>
        {t("work.queue")}
      </h1>
      {loading ? <p role="status">{app.t("app.loading")}</p> : null}
      {error ? <p role="alert">{errorText(error, app.t)}</p> : null}
      <ul>
        {rows.map((r) => (
          <li key={r.request_id}>
            <a href={`/requests/${r.request_id}`}>
              {r.service_name ?? r.service_code}
            </a>{" "}
            {formatDate(app.lang, r.requested_at)}
          </li>
        ))}
      </ul>
    </section>
  );
}
