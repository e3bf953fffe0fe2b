import { useEffect, useState } from "preact/hooks";
import { MapView } from "../../components/MapView";
import { StatusBadge } from "../../components/StatusBadge";
import { formatDate, useI18n } from "../../i18n";
import { client, errorText, useAccount } from "../../lib/api";
import { config, DEFAULT_CENTER } from "../../lib/config";
import type { ServiceRequest } from "../../lib/types";
import { useStaffI18n } from "../i18n";
import { OPEN } from "./filters";

// Open reports of the caller's department(s) on a map (Leaflet, when tiles are configured) and
// as a list (`/staff/map`).
export function StaffMap() {
  const { t } = useStaffI18n();
  const app = useI18n();
  const me = useAccount();
  const admin = !!me?.roles?.includes("admin");
  const depts = admin ? [""] : (me?.departments ?? []);
  const [items, setItems] = useState<ServiceRequest[] | null>(null);
  const [error, setError] = useState("");

  useEffect(() => {
    let on = true;
    Promise.all(
      depts.map((d) =>
        client.staff.queuePage({
          ...(d ? { department: d } : {}),
          status: [...OPEN],
          page_size: 100,
          language: app.lang,
        }),
      ),
    ).then(
      (pages) => on && setItems(pages.flatMap((p) => p.requests)),
      (e: unknown) => on && setError(errorText(e, app.t)),
    );
    return () => {
      on = false;
    };
  }, [depts.join(","), app.lang]);

  const withPos = (items ?? []).filter((r) => r.lat || r.long);
  return (
    <section class="page" aria-labelledby="page-title">
      <h1 id="page-title" tabIndex={-1}>
        {t("work.map")}
      </h1>
      {error ? <p role="alert">{error}</p> : null}
      {!items && !error ? <p role="status">{app.t("app.loading")}</p> : null}
      <div class="staff-columns">
        {config.map_tiles_url && items ? (
          <MapView
            center={
              withPos[0] ? [withPos[0].lat, withPos[0].long] : DEFAULT_CENTER
            }
            label={t("work.mapLabel")}
            markers={withPos.map((r) => ({
              lat: r.lat,
              long: r.long,
              label: r.service_name || r.service_code,
              href: `/staff/requests/${r.request_id}`,
            }))}
          />
        ) : null}
        {items ? (
          <ul class="staff-maplist" aria-label={t("work.openList")}>
            {items.map((r) => (
              <li key={r.request_id}>
                <a href={`/staff/requests/${r.request_id}`}>
                  {r.service_name || r.service_code}
                </a>{" "}
                <StatusBadge status={r.status} />{" "}
                <span class="hint">
                  {r.address || `${r.lat}, ${r.long}`} ·{" "}
                  {formatDate(app.lang, r.requested_at)}
                </span>
              </li>
            ))}
          </ul>
        ) : null}
      </div>
      {items && !items.length ? <p>{t("work.empty")}</p> : null}
    </section>
  );
}
