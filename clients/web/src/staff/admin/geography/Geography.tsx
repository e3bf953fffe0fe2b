import type { Districts, Geometry } from "@cityhub/sdk";
import { useEffect, useRef, useState } from "preact/hooks";
import { Notice, useId } from "../../../components/ui";
import { useI18n } from "../../../i18n";
import { client, errorStatus, errorText, useLoad } from "../../../lib/api";
import { config, DEFAULT_CENTER } from "../../../lib/config";
import { useStaffI18n } from "../../i18n";
import { AdminPage } from "../ui";
import type { GeoMap } from "./geomap";

/** A Polygon/MultiPolygon from a file: the geometry itself, a Feature or a one-feature collection. */
function boundaryFrom(json: unknown): Geometry | null {
  const o = json as {
    type?: string;
    geometry?: Geometry;
    features?: { geometry?: Geometry }[];
  };
  if (o?.type === "Feature") return o.geometry ?? null;
  if (o?.type === "FeatureCollection" && o.features?.length === 1)
    return o.features[0]?.geometry ?? null;
  return o?.type === "Polygon" || o?.type === "MultiPolygon"
    ? (o as Geometry)
    : null;
}

// Geography: the city's boundary and its districts (GET/PUT /v1/jurisdiction/boundary and
// /v1/districts), uploaded as GeoJSON files, on a map and listed.
export function Geography() {
  const { t } = useStaffI18n();
  const app = useI18n();
  const boundaryId = useId("boundary");
  const districtsId = useId("districts");
  // null when none is set (404)
  const boundary = useLoad(() => client.admin.geography.boundary(), []);
  const districts = useLoad(() => client.admin.geography.districts(), []);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState("");
  const [notice, setNotice] = useState("");
  const mapEl = useRef<HTMLDivElement>(null);
  const map = useRef<GeoMap | null>(null);
  // Set once the map's chunk has loaded and the map exists: the answers may come before or
  // after that, and the effect below draws them either way.
  const [mapReady, setMapReady] = useState(false);
  const showMap = !!config.map_tiles_url;

  useEffect(() => {
    if (!showMap) return;
    let cancelled = false;
    void import("./geomap").then(({ createGeoMap }) => {
      if (cancelled || !mapEl.current) return;
      map.current = createGeoMap(
        mapEl.current,
        DEFAULT_CENTER,
        t("admin.geo.map"),
      );
      setMapReady(true);
    });
    return () => {
      cancelled = true;
      map.current?.destroy();
      map.current = null;
    };
  }, []);
  useEffect(() => {
    map.current?.show(boundary.data ?? null, districts.data ?? null);
  }, [mapReady, boundary.data, districts.data]);

  async function upload(
    kind: "boundary" | "districts",
    file: File | undefined,
  ) {
    if (!file) return;
    setError("");
    setNotice("");
    let json: unknown;
    try {
      json = JSON.parse(await file.text());
    } catch {
      setError(t("admin.geo.notJson", { file: file.name }));
      return;
    }
    const body = kind === "boundary" ? boundaryFrom(json) : json;
    if (
      !body ||
      (kind === "districts" &&
        (json as { type?: string }).type !== "FeatureCollection")
    ) {
      setError(
        t(
          kind === "boundary"
            ? "admin.geo.notPolygon"
            : "admin.geo.notCollection",
        ),
      );
      return;
    }
    setBusy(true);
    try {
      if (kind === "boundary")
        await client.admin.geography.setBoundary(body as Geometry);
      else await client.admin.geography.setDistricts(body as Districts);
      setNotice(t("admin.saved"));
      boundary.reload();
      districts.reload();
    } catch (err) {
      setError(errorText(err, app.t));
    } finally {
      setBusy(false);
    }
  }

  if (errorStatus(districts.error) === 404) {
    return (
      <AdminPage title={t("admin.geography")}>
        <Notice>{t("admin.geo.unavailable")}</Notice>
      </AdminPage>
    );
  }
  const features = districts.data?.features ?? [];
  return (
    <AdminPage title={t("admin.geography")} wide>
      <p class="hint">{t("admin.geo.hint")}</p>
      <div class="admin-inline admin-geo-upload">
        <div class="field">
          <label for={boundaryId}>{t("admin.geo.boundaryFile")}</label>
          <input
            id={boundaryId}
            type="file"
            accept=".json,.geojson,application/geo+json,application/json"
            disabled={busy}
            onChange={(e) => {
              void upload("boundary", e.currentTarget.files?.[0]);
              e.currentTarget.value = "";
            }}
          />
        </div>
        <div class="field">
          <label for={districtsId}>{t("admin.geo.districtsFile")}</label>
          <input
            id={districtsId}
            type="file"
            accept=".json,.geojson,application/geo+json,application/json"
            disabled={busy}
            onChange={(e) => {
              void upload("districts", e.currentTarget.files?.[0]);
              e.currentTarget.value = "";
            }}
          />
        </div>
      </div>
      {error ? <Notice kind="error">{error}</Notice> : null}
      {notice ? <Notice kind="ok">{notice}</Notice> : null}
      {boundary.error ? (
        <Notice kind="error">{errorText(boundary.error, app.t)}</Notice>
      ) : null}
      {districts.error ? (
        <Notice kind="error">{errorText(districts.error, app.t)}</Notice>
      ) : null}
      <p>
        {boundary.data
          ? t("admin.geo.boundarySet", { type: boundary.data.type })
          : t("admin.geo.noBoundary")}
      </p>
      {showMap ? (
        <div
          ref={mapEl}
          class="map admin-geo-map"
          role="region"
          aria-label={t("admin.geo.map")}
        />
      ) : null}
      <table class="admin-table">
        <caption>{t("admin.geo.districts", { n: features.length })}</caption>
        <thead>
          <tr>
            <th scope="col">district_id</th>
            <th scope="col">{t("admin.german")}</th>
            <th scope="col">{t("admin.english")}</th>
            <th scope="col">{t("admin.geo.shape")}</th>
          </tr>
        </thead>
        <tbody>
          {features.map((f) => (
            <tr key={f.properties?.district_id}>
              <th scope="row">
                <code>{f.properties?.district_id}</code>
              </th>
              <td>{f.properties?.name_de}</td>
              <td>{f.properties?.name_en}</td>
              <td>{f.geometry?.type}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </AdminPage>
  );
}
