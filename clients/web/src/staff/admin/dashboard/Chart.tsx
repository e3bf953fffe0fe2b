import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import type { Period } from "./stats";

// Received vs closed per week, drawn by uPlot on a canvas (no inline style attributes, so the
// gateway's CSP allows it). Hidden from screen readers: the table beside it has every number.
export function WeeklyChart(props: {
  periods: Period[];
  labels: { received: string; closed: string };
}) {
  const el = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!el.current) return;
    const xs = props.periods.map((p) => Date.parse(p.start) / 1000);
    const plot = new uPlot(
      {
        width: Math.max(320, el.current.clientWidth),
        height: 260,
        cursor: { show: false },
        legend: { show: true, live: false },
        scales: { x: { time: true } },
        series: [
          {},
          { label: props.labels.received, stroke: "#1f5fa8", width: 2 },
          {
            label: props.labels.closed,
            stroke: "#2e7d32",
            width: 2,
            dash: [6, 4],
          },
        ],
        // Dates on the time axis in the page's language (uPlot's own are US month/day).
        axes: [
          {
            values: (_u, splits) =>
              splits.map((s) =>
                new Date(s * 1000).toLocaleDateString(
                  document.documentElement.lang || "en-GB",
                  {
                    day: "numeric",
                    month: "short",
                    timeZone: "UTC",
                  },
                ),
              ),
          },
          { label: "" },
        ],
      },
      [
        xs,
        props.periods.map((p) => p.received),
        props.periods.map((p) => p.closed),
      ],
      el.current,
    );
    return () => plot.destroy();
  }, [props.periods]);
  return <div ref={el} class="admin-chart" aria-hidden="true" />;
}
