import { useEffect, useState } from "preact/hooks";
import { useI18n } from "../../i18n";
import { client, errorText } from "../../lib/api";
import { config, DEFAULT_CENTER } from "../../lib/config";
import type { ServiceRequest } from "../../lib/types";
import { Loading, Notice, Page } from "../../components/ui";
import { MapView } from "../../components/MapView";
import { RequestCard } from "../../components/RequestCard";
import { currentPosition } from "../report/LocationPicker";

const RADIUS_M = 2000;

function distanceM(a: [number, number], b: [number, number]): number {
  const rad = Math.PI / 180;
  const dLat = (b[0] - a[0]) * rad;
  const dLon = (b[1] - a[1]) * rad;
  const h =
    Math.sin(dLat / 2) ** 2 +
    Math.cos(a[0] * rad) * Math.cos(b[0] * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * 6371000 * Math.asin(Math.sqrt(h));
}

/** Open and recent reports around the user (or the city centre), as a list and, when configured, a map. */
export function Near() {
  const { t, lang } = useI18n();
  const [center, setCenter] = useState<[number, number]>(DEFAULT_CENTER);
  const [mine, setMine] = useState(false);
  const [items, setItems] = useState<ServiceRequest[] | null>(null);
  const [error, setError] = useState("");
  const [locating, setLocating] = useState(false);

  useEffect(() => {
    let live = true;
    setItems(null);
    client.requests
      .listPage({
        lat: center[0],
        long: center[1],
        radius_m: RADIUS_M,
        page_size: 50,
        language: lang,
      })
      .then(
        (p) => live && setItems(p.requests),
        (e: unknown) => live && setError(errorText(e, t)),
      );
    return () => {
      live = false;
    };
  }, [center[0], center[1], lang]);

  async function locate() {
    setLocating(true);
    try {
      setCenter(await currentPosition());
      setMine(true);
    } catch {
      setError(t("report.locationFailed"));
    } finally {
      setLocating(false);
    }
  }

  const withPos = (items ?? []).filter((r) => r.lat || r.long);
  return (
    <Page title={t("near.title")}>
      <p>
        {mine ? t("near.mine") : t("near.centre")} ·{" "}
        {t("near.radius", { km: RADIUS_M / 1000 })}
      </p>
      <button type="button" class="button" onClick={locate} disabled={locating}>
        {locating ? t("report.locating") : t("near.locate")}
      </button>
      {error ? <Notice kind="error">{error}</Notice> : null}
      {config.map_tiles_url ? (
        <MapView
          key={`${center[0]},${center[1]}`}
          center={center}
          label={t("near.map")}
          markers={withPos.map((r) => ({
            lat: r.lat ?? 0,
            long: r.long ?? 0,
            label: `${r.service_name} (${r.address || r.request_id})`,
            href: `/requests/${r.request_id}`,
          }))}
        />
      ) : null}
      {items === null && !error ? <Loading /> : null}
      {items && !items.length ? <p>{t("near.empty")}</p> : null}
      {items?.length ? (
        <ul class="cards">
          {items.map((r) => (
            <RequestCard
              key={r.request_id}
              request={r}
              extra={
                r.lat || r.long
                  ? t("near.distance", {
                      m: Math.round(
                        distanceM(center, [r.lat ?? 0, r.long ?? 0]),
                      ),
                    })
                  : undefined
              }
            />
          ))}
        </ul>
      ) : null}
    </Page>
  );
}
