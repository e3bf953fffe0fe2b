import { useState } from "preact/hooks";
import { useI18n } from "../../i18n";
import { config, DEFAULT_CENTER } from "../../lib/config";
import { MapView } from "../../components/MapView";
import { Notice, TextField } from "../../components/ui";

export interface LocationValue {
  lat: string;
  long: string;
  address: string;
}

export function currentPosition(): Promise<[number, number]> {
  return new Promise((resolve, reject) => {
    if (!("geolocation" in navigator))
      return reject(new Error("no geolocation"));
    navigator.geolocation.getCurrentPosition(
      (p) => resolve([p.coords.latitude, p.coords.longitude]),
      reject,
      { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 },
    );
  });
}

const round = (x: number) => String(Math.round(x * 1e6) / 1e6);

/** Where the problem is: the device's position, a pin on the map (when there is one), or an address. */
export function LocationPicker(props: {
  value: LocationValue;
  error?: string;
  onChange: (v: LocationValue) => void;
}) {
  const { t } = useI18n();
  const [locating, setLocating] = useState(false);
  const [failed, setFailed] = useState(false);
  const v = props.value;
  const lat = parseFloat(v.lat);
  const long = parseFloat(v.long);
  const pin: [number, number] | null =
    Number.isFinite(lat) && Number.isFinite(long) ? [lat, long] : null;

  async function locate() {
    setLocating(true);
    setFailed(false);
    try {
      const [la, lo] = await currentPosition();
      props.onChange({ ...v, lat: round(la), long: round(lo) });
    } catch {
      setFailed(true);
    } finally {
      setLocating(false);
    }
  }

  return (
    <fieldset class={"location" + (props.error ? " field--error" : "")}>
      <legend>
        {t("report.location")}{" "}
        <span class="req">{t("report.requiredMark")}</span>
      </legend>
      <button type="button" class="button" onClick={locate} disabled={locating}>
        {locating ? t("report.locating") : t("report.useMyLocation")}
      </button>
      {failed ? (
        <Notice kind="error">{t("report.locationFailed")}</Notice>
      ) : null}
      {config.map_tiles_url ? (
        <>
          <p class="hint">{t("report.mapHint")}</p>
          <MapView
            center={pin ?? DEFAULT_CENTER}
            pin={pin}
            label={t("report.location")}
            onPick={(la, lo) =>
              props.onChange({ ...v, lat: round(la), long: round(lo) })
            }
          />
        </>
      ) : null}
      <div class="row">
        <TextField
          label={t("report.latitude")}
          inputMode="decimal"
          value={v.lat}
          onValue={(x) => props.onChange({ ...v, lat: x })}
        />
        <TextField
          label={t("report.longitude")}
          inputMode="decimal"
          value={v.long}
          onValue={(x) => props.onChange({ ...v, long: x })}
        />
      </div>
      <TextField
        label={t("report.address")}
        hint={t("report.addressHint")}
        autoComplete="street-address"
        maxLength={250}
        value={v.address}
        onValue={(x) => props.onChange({ ...v, address: x })}
      />
      {props.error ? <Notice kind="error">{props.error}</Notice> : null}
    </fieldset>
  );
}
