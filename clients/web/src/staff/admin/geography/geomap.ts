// The geography page's map (its own chunk with Leaflet): the boundary and the districts drawn
// from GeoJSON, fitted into view.
import L from "leaflet";
import { config } from "../../../lib/config";

declare const __LEAFLET_CSS__: string;

export interface GeoMap {
  show(boundary: object | null, districts: object | null): void;
  destroy(): void;
}

export function createGeoMap(
  el: HTMLElement,
  center: [number, number],
  label: string,
): GeoMap {
  if (!document.querySelector("link[data-leaflet]")) {
    const link = document.createElement("link");
    link.rel = "stylesheet";
    link.href = __LEAFLET_CSS__;
    link.dataset.leaflet = "1";
    document.head.appendChild(link);
  }
  const map = L.map(el, { center, zoom: 11 });
  el.setAttribute("aria-label", label);
  L.tileLayer(config.map_tiles_url ?? "", {
    attribution: config.map_attribution ?? "",
    maxZoom: 19,
  }).addTo(map);
  const layers = L.featureGroup().addTo(map);
  return {
    show(boundary, districts) {
      layers.clearLayers();
      if (boundary)
        L.geoJSON(boundary as GeoJSON.GeoJsonObject, {
          style: { color: "#1f5fa8", weight: 3, fill: false },
        }).addTo(layers);
      if (districts)
        L.geoJSON(districts as GeoJSON.GeoJsonObject, {
          style: { color: "#2e7d32", weight: 1, fillOpacity: 0.08 },
          onEachFeature: (f, layer) => {
            const p = (f.properties ?? {}) as Record<string, unknown>;
            layer.bindTooltip(String(p.name_de ?? p.district_id ?? ""));
          },
        }).addTo(layers);
      const b = layers.getBounds();
      if (b.isValid()) map.fitBounds(b);
    },
    destroy: () => map.remove(),
  };
}
