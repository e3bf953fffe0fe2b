import { useState } from "preact/hooks";
import { Notice, useId } from "../../../components/ui";
import { useI18n } from "../../../i18n";
import {
  client,
  errorStatus,
  errorText,
  useAccount,
  useLoad,
} from "../../../lib/api";
import { useStaffI18n, type StaffTranslate } from "../../i18n";
import { AdminPage } from "../ui";
import { WeeklyChart } from "./Chart";
import {
  loadStats,
  sumPeriods,
  type Durations,
  type Period,
  type ServiceStats,
  type Stats,
} from "./stats";

const RANGES = [4, 12, 26, 52];
const CITY = "";

// The dashboard: the city's and a department's figures from GET /v1/stats, as charts and, for
// screen readers and exact numbers, as tables. A department's figures are those of its
// categories (one call per category, summed where sums are meaningful).
export function Dashboard() {
  const { t } = useStaffI18n();
  const app = useI18n();
  const me = useAccount();
  const rangeId = useId("range");
  const deptId = useId("dept");
  const [weeks, setWeeks] = useState(12);
  const [dept, setDept] = useState<string>(me?.departments?.[0] ?? CITY);
  const services = useLoad(() => client.services.list(app.lang), [app.lang]);
  const departments = [
    ...new Set((services.data ?? []).map((s) => s.department).filter(Boolean)),
  ].sort();
  const codes = (services.data ?? [])
    .filter((s) => s.department === dept)
    .map((s) => s.service_code)
    .slice(0, 20);
  // District names for the by-district table (GET /v1/districts is public).
  const districts = useLoad(() => client.admin.geography.districts(), []);
  const districtNames = new Map(
    (districts.data?.features ?? []).map((f) => [
      f.properties.district_id,
      app.lang === "de" ? f.properties.name_de : f.properties.name_en,
    ]),
  );
  const names = new Map(
    (services.data ?? []).map((s) => [
      s.service_code,
      s.name || s.service_code,
    ]),
  );

  const stats = useLoad(async () => {
    const since = new Date(Date.now() - weeks * 7 * 86_400_000);
    const city = await loadStats({ since });
    const mine =
      dept === CITY
        ? []
        : await Promise.all(
            codes.map((service_code) => loadStats({ since, service_code })),
          );
    return { city, mine };
  }, [weeks, dept, codes.join(",")]);

  const missing = errorStatus(stats.error) === 404;
  const city = stats.data?.city;
  const mine = stats.data?.mine ?? [];
  const periods: Period[] =
    dept === CITY ? (city?.periods ?? []) : sumPeriods(mine);
  const rows: ServiceStats[] = (city?.by_service ?? []).filter(
    (s) => dept === CITY || codes.includes(s.service_code),
  );
  const scope = dept === CITY ? t("admin.dash.city") : dept;
  const scoped = dept === CITY ? (city ? [city] : []) : mine;
  const byStatus = sumCounts(
    scoped.map((s) => s.by_status ?? []),
    "status",
  );
  const byDistrict = sumCounts(
    scoped.map((s) => s.by_district ?? []),
    "district",
  );

  return (
    <AdminPage title={t("admin.dashboard")} wide>
      <form
        class="admin-inline admin-dash-controls"
        onSubmit={(e) => e.preventDefault()}
      >
        <div class="field">
          <label for={rangeId}>{t("admin.dash.range")}</label>
          <select
            id={rangeId}
            value={String(weeks)}
            onChange={(e) => setWeeks(Number(e.currentTarget.value))}
          >
            {RANGES.map((w) => (
              <option key={w} value={String(w)}>
                {t("admin.dash.weeks", { n: w })}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for={deptId}>{t("admin.dash.scope")}</label>
          <select
            id={deptId}
            value={dept}
            onChange={(e) => setDept(e.currentTarget.value)}
          >
            <option value={CITY}>{t("admin.dash.city")}</option>
            {departments.map((d) => (
              <option key={d} value={d}>
                {d}
              </option>
            ))}
          </select>
        </div>
      </form>
      {stats.loading ? <p role="status">{app.t("app.loading")}</p> : null}
      {missing ? (
        <Notice>{t("admin.dash.unavailable")}</Notice>
      ) : stats.error ? (
        <Notice kind="error">{errorText(stats.error, app.t)}</Notice>
      ) : null}
      {city ? (
        <>
          <Summary
            t={t}
            lang={app.lang}
            city={city}
            mine={dept === CITY ? null : mine}
            scope={scope}
          />
          <h2>{t("admin.dash.weekly", { scope })}</h2>
          <WeeklyChart
            periods={periods}
            labels={{
              received: t("admin.dash.received"),
              closed: t("admin.dash.closed"),
            }}
          />
          <table class="admin-table">
            <caption>{t("admin.dash.weekly", { scope })}</caption>
            <thead>
              <tr>
                <th scope="col">{t("admin.dash.week")}</th>
                <th scope="col">{t("admin.dash.received")}</th>
                <th scope="col">{t("admin.dash.closed")}</th>
              </tr>
            </thead>
            <tbody>
              {periods.map((p) => (
                <tr key={p.start}>
                  <th scope="row">{day(p.start, app.lang)}</th>
                  <td>{p.received}</td>
                  <td>{p.closed}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <h2>{t("admin.dash.byCategory", { scope })}</h2>
          <table class="admin-table">
            <caption>{t("admin.dash.byCategory", { scope })}</caption>
            <thead>
              <tr>
                <th scope="col">{t("admin.catalogue")}</th>
                <th scope="col">{t("admin.dash.count")}</th>
                <th scope="col">{t("admin.dash.tta")}</th>
                <th scope="col">{t("admin.dash.ttr")}</th>
                <th scope="col">{t("admin.dash.sla")}</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((s) => (
                <tr key={s.service_code}>
                  <th scope="row">
                    {names.get(s.service_code) ?? s.service_code}
                  </th>
                  <td>{s.count}</td>
                  <td>{durations(s.time_to_acknowledge, t)}</td>
                  <td>{durations(s.time_to_resolve, t)}</td>
                  <td>{share(s.within_sla?.share, s.within_sla?.count, t)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <CountTable
            title={t("admin.dash.byStatus", { scope })}
            head={t("admin.dash.status")}
            rows={byStatus.map(([status, n]) => [
              app.t(`status.${status}` as never),
              n,
            ])}
            t={t}
          />
          <CountTable
            title={t("admin.dash.byDistrict", { scope })}
            head={t("admin.dash.district")}
            rows={byDistrict.map(([d, n]) => [
              d ? (districtNames.get(d) ?? d) : t("admin.dash.noDistrict"),
              n,
            ])}
            t={t}
          />
        </>
      ) : null}
    </AdminPage>
  );
}

function Summary(props: {
  t: StaffTranslate;
  lang: string;
  city: Stats;
  mine: Stats[] | null;
  scope: string;
}) {
  const { t, city, mine } = props;
  const cols: { name: string; s: Aggregate }[] = [
    { name: t("admin.dash.city"), s: aggregate([city]) },
  ];
  if (mine) cols.push({ name: props.scope, s: aggregate(mine) });
  return (
    <table class="admin-table admin-dash-summary">
      <caption>{t("admin.dash.summary")}</caption>
      <thead>
        <tr>
          <td />
          {cols.map((c) => (
            <th scope="col" key={c.name}>
              {c.name}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        <tr>
          <th scope="row">{t("admin.dash.count")}</th>
          {cols.map((c) => (
            <td key={c.name}>{c.s.total}</td>
          ))}
        </tr>
        <tr>
          <th scope="row">{t("admin.dash.tta")}</th>
          {cols.map((c) => (
            <td key={c.name}>{c.s.tta ? durations(c.s.tta, t) : "–"}</td>
          ))}
        </tr>
        <tr>
          <th scope="row">{t("admin.dash.ttr")}</th>
          {cols.map((c) => (
            <td key={c.name}>{c.s.ttr ? durations(c.s.ttr, t) : "–"}</td>
          ))}
        </tr>
        <tr>
          <th scope="row">{t("admin.dash.sla")}</th>
          {cols.map((c) => (
            <td key={c.name}>{share(c.s.slaShare, c.s.slaCount, t)}</td>
          ))}
        </tr>
        <tr>
          <th scope="row">{t("admin.dash.feedback")}</th>
          {cols.map((c) => (
            <td key={c.name}>
              {c.s.feedbackCount
                ? t("admin.dash.rating", {
                    avg: (c.s.rating ?? 0).toFixed(1),
                    n: c.s.feedbackCount,
                  })
                : "–"}
            </td>
          ))}
        </tr>
      </tbody>
    </table>
  );
}

/** A table of counts (by status, by district) with its heading. */
function CountTable(props: {
  title: string;
  head: string;
  rows: [string, number][];
  t: StaffTranslate;
}) {
  return (
    <>
      <h2>{props.title}</h2>
      <table class="admin-table">
        <caption>{props.title}</caption>
        <thead>
          <tr>
            <th scope="col">{props.head}</th>
            <th scope="col">{props.t("admin.dash.count")}</th>
          </tr>
        </thead>
        <tbody>
          {props.rows.map(([name, n]) => (
            <tr key={name}>
              <th scope="row">{name}</th>
              <td>{n}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

/** Sums counts by key over several answers (a department's categories), largest first. */
function sumCounts<K extends string>(
  lists: ({ count: number } & Record<K, string>)[][],
  key: K,
): [string, number][] {
  const by = new Map<string, number>();
  for (const list of lists) {
    for (const row of list) {
      by.set(row[key], (by.get(row[key]) ?? 0) + Number(row.count ?? 0));
    }
  }
  return [...by.entries()].sort(
    (a, b) => b[1] - a[1] || a[0].localeCompare(b[0]),
  );
}

interface Aggregate {
  total: number;
  tta?: Durations;
  ttr?: Durations;
  slaCount: number;
  slaShare?: number;
  feedbackCount: number;
  rating?: number;
}

/** Totals over answers; medians only for a single answer (they do not add up), so a
 * department of one category shows its medians too. */
function aggregate(all: Stats[]): Aggregate {
  const single = all.length === 1;
  let total = 0,
    slaCount = 0,
    slaWithin = 0,
    fbCount = 0,
    fbSum = 0;
  for (const s of all) {
    total += Number(s.total ?? 0);
    const n = Number(s.within_sla?.count ?? 0);
    slaCount += n;
    slaWithin += n * Number(s.within_sla?.share ?? 0);
    const f = Number(s.feedback?.count ?? 0);
    fbCount += f;
    fbSum += f * Number(s.feedback?.average_rating ?? 0);
  }
  return {
    total,
    ...(single && all[0]?.time_to_acknowledge
      ? { tta: all[0].time_to_acknowledge }
      : {}),
    ...(single && all[0]?.time_to_resolve
      ? { ttr: all[0].time_to_resolve }
      : {}),
    slaCount,
    ...(slaCount ? { slaShare: slaWithin / slaCount } : {}),
    feedbackCount: fbCount,
    ...(fbCount ? { rating: fbSum / fbCount } : {}),
  };
}

function hours(seconds: number | undefined, t: StaffTranslate): string {
  if (seconds === undefined) return "–";
  const h = Number(seconds) / 3600;
  return h < 48
    ? t("admin.dash.hours", { n: h.toFixed(1) })
    : t("admin.dash.days", { n: (h / 24).toFixed(1) });
}

function durations(d: Durations | undefined, t: StaffTranslate): string {
  if (!d || !Number(d.count)) return "–";
  return t("admin.dash.durations", {
    median: hours(d.median_seconds, t),
    p90: hours(d.p90_seconds, t),
    n: d.count,
  });
}

function share(
  s: number | undefined,
  n: number | undefined,
  t: StaffTranslate,
): string {
  if (s === undefined || !n) return "–";
  return t("admin.dash.share", { pct: Math.round(Number(s) * 100), n });
}

function day(iso: string, lang: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime())
    ? iso
    : d.toLocaleDateString(lang === "de" ? "de-DE" : "en-GB", {
        timeZone: "UTC",
      });
}
