import { useEffect, useRef } from "preact/hooks";
import type { MapHandle, MapMarker } from "../lib/map";

// A Leaflet map in its own chunk: the import runs only when this component is shown, which the
// screens do only when the gateway configured a tiles URL.
export function MapView(props: {
  center: [number, number];
  label: string;
  pin?: [number, number] | null;
  markers?: MapMarker[];
  onPick?: (lat: number, long: number) => void;
}) {
  const el = useRef<HTMLDivElement>(null);
  const handle = useRef<MapHandle | null>(null);
  const onPick = useRef(props.onPick);
  onPick.current = props.onPick;

  useEffect(() => {
    let cancelled = false;
    void import("../lib/map").then(({ createMap }) => {
      if (cancelled || !el.current) return;
      handle.current = createMap(el.current, {
        center: props.center,
        label: props.label,
        onPick: props.onPick
          ? (lat, long) => onPick.current?.(lat, long)
          : undefined,
      });
      if (props.pin) handle.current.setPin(props.pin[0], props.pin[1]);
      if (props.markers) handle.current.setMarkers(props.markers);
    });
    return () => {
      cancelled = true;
      handle.current?.destroy();
      handle.current = null;
    };
  }, []);

  useEffect(() => {
    if (props.pin && handle.current) {
      handle.current.setPin(props.pin[0], props.pin[1]);
      handle.current.setView(props.pin[0], props.pin[1]);
    }
  }, [props.pin?.[0], props.pin?.[1]]);

  useEffect(() => {
    if (props.markers && handle.current)
      handle.current.setMarkers(props.markers);
  }, [props.markers]);

  return <div ref={el} class="map" role="region" aria-label={props.label} />;
}
