import { client } from "../../../lib/api";

// GET /v1/stats as the shared contract of #15 describes it. The route is not in the OpenAPI
// document yet, so this shape is written here once; switch to the SDK's generated type when
// the route lands (then `npm run gen` has it).
export interface Durations {
  count: number;
  median_seconds?: number;
  p90_seconds?: number;
}
export interface WithinSla {
  count: number;
  share?: number;
}
export interface ServiceStats {
  service_code: string;
  count: number;
  time_to_acknowledge?: Durations;
  time_to_resolve?: Durations;
  within_sla?: WithinSla;
}
export interface Period {
  start: string;
  received: number;
  closed: number;
}
export interface Stats {
  since: string;
  until: string;
  group_by: string;
  total: number;
  by_status?: { status: string; count: number }[];
  by_service?: ServiceStats[];
  by_district?: { district: string; count: number }[];
  periods?: Period[];
  time_to_acknowledge?: Durations;
  time_to_resolve?: Durations;
  within_sla?: WithinSla;
  feedback?: { count: number; average_rating?: number };
}

export function loadStats(q: {
  since: Date;
  service_code?: string;
}): Promise<Stats> {
  return client.call<Stats>("GET", "/v1/stats", {
    query: {
      since: q.since.toISOString().replace(/\.\d{3}Z$/, "Z"),
      group_by: "week",
      service_code: q.service_code,
    },
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
