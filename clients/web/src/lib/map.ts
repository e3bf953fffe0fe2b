// The map, loaded only when a tiles URL is configured (a separate chunk with Leaflet).
import L from "leaflet";
import { config } from "./config";

declare const __LEAFLET_CSS__: string;

function ensureCss() {
  if (document.querySelector("link[data-leaflet]")) return;
  const link = document.createElement("link");
  link.rel = "stylesheet";
  link.href = __LEAFLET_CSS__;
  link.dataset.leaflet = "1";
  document.head.appendChild(link);
}

export interface MapMarker {
  lat: number;
  long: number;
  label: string;
  href?: string;
}

export interface MapHandle {
  setPin(lat: number, long: number): void;
  setMarkers(markers: MapMarker[]): void;
  setView(lat: number, long: number): void;
  destroy(): void;
}

function pinIcon(cls: string) {
  return L.divIcon({
    className: cls,
    iconSize: [28, 28],
    iconAnchor: [14, 28],
  });
}

export function createMap(
  el: HTMLElement,
  opts: {
    center: [number, number];
    zoom?: number;
    label: string;
    onPick?: (lat: number, long: number) => void;
  },
): MapHandle {
  ensureCss();
  const map = L.map(el, { center: opts.center, zoom: opts.zoom ?? 16 });
  el.setAttribute("aria-label", opts.label);
  L.tileLayer(config.map_tiles_url ?? "", {
    attribution: config.map_attribution ?? "",
    maxZoom: 19,
  }).addTo(map);
  let pin: L.Marker | null = null;
  const group = L.layerGroup().addTo(map);

  function setPin(lat: number, long: number) {
    if (!pin) {
      pin = L.marker([lat, long], {
        draggable: !!opts.onPick,
        icon: pinIcon("map-pin"),
        keyboard: true,
        title: opts.label,
      }).addTo(map);
      pin.on("dragend", () => {
        const p = pin!.getLatLng();
        opts.onPick?.(p.lat, p.lng);
      });
    } else pin.setLatLng([lat, long]);
  }

  if (opts.onPick) {
    map.on("click", (e: L.LeafletMouseEvent) => {
      setPin(e.latlng.lat, e.latlng.lng);
      opts.onPick?.(e.latlng.lat, e.latlng.lng);
    });
  }

  return {
    setPin,
    setView: (lat, long) => map.setView([lat, long], map.getZoom()),
    setMarkers(markers) {
      group.clearLayers();
      for (const m of markers) {
        const marker = L.marker([m.lat, m.long], {
          icon: pinIcon("map-dot"),
          title: m.label,
        });
        if (m.href) {
          const a = document.createElement("a");
          a.href = m.href;
          a.textContent = m.label;
          marker.bindPopup(a);
        }
        group.addLayer(marker);
      }
    },
    destroy: () => map.remove(),
  };
}
