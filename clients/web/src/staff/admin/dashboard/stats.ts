import type { Stats } from "@cityhub/sdk";
import { client } from "../../../lib/api";

// GET /v1/stats through the SDK, with its types generated from the API: durations are
// `median_seconds`/`p90_seconds` (absent when `count` is 0), `within_sla.share` is 0..1,
// `feedback.average_rating` 1..5, each period has `received` and `closed`.
export type { Stats };
export type Durations = Stats["time_to_acknowledge"];
export type ServiceStats = Stats["by_service"][number];
export type Period = Stats["periods"][number];

export function loadStats(q: {
  since: Date;
  service_code?: string;
}): Promise<Stats> {
  return client.stats({
    since: q.since.toISOString().replace(/\.\d{3}Z$/, "Z"),
    group_by: "week",
    ...(q.service_code ? { service_code: q.service_code } : {}),
  });
}

/** Sums the weekly periods of several answers (one per category of a department). */
export function sumPeriods(all: Stats[]): Period[] {
  const by = new Map<string, Period>();
  for (const s of all) {
    for (const p of s.periods ?? []) {
      const cur = by.get(p.start) ?? { start: p.start, received: 0, closed: 0 };
      cur.received += Number(p.received ?? 0);
      cur.closed += Number(p.closed ?? 0);
      by.set(p.start, cur);
    }
  }
  return [...by.values()].sort((a, b) => a.start.localeCompare(b.start));
}
