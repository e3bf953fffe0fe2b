import type { QueueCount } from "@cityhub/sdk";
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { useI18n } from "../../i18n";
import { client, errorText, useAccount } from "../../lib/api";
import { live } from "../../lib/inbox";
import { navigate, useLocation } from "../../lib/router";
import type { ServiceRequest } from "../../lib/types";
import { useStaffI18n } from "../i18n";
import { BulkBar } from "./BulkBar";
import { departmentsOf, useDistrictFilter, useServices } from "./data";
import {
  apiFilters,
  readQueue,
  STATUSES,
  writeQueue,
  type QueueState,
  type Sort,
} from "./filters";
import { QueueFilterBar } from "./QueueFilters";
import { QueueTable } from "./QueueTable";
import { ShortcutHelp } from "./ShortcutHelp";

const PAGE = 100;
/** Counts walk at most this many requests per status; more is shown as a lower bound. */
export const COUNT_CAP = 500;

function sortRows(rows: ServiceRequest[], sort: Sort): ServiceRequest[] {
  const time = (s?: string) => (s ? Date.parse(s) : Number.POSITIVE_INFINITY);
  const out = [...rows];
  if (sort === "oldest")
    out.sort((a, b) => time(a.requested_at) - time(b.requested_at));
  if (sort === "due")
    out.sort((a, b) => time(a.expected_at) - time(b.expected_at));
  return out; // "newest": the API's order
}

/** The triage queue of the caller's departments (`/staff`). */
export function Queue() {
  const { t } = useStaffI18n();
  const app = useI18n();
  const me = useAccount();
  const loc = useLocation();
  const services = useServices(app.lang);
  const admin = !!me?.roles?.includes("admin");
  const departments = departmentsOf(me, services);
  const district = useDistrictFilter();
  const state = readQueue(loc.query, admin ? "" : (me?.departments?.[0] ?? ""));
  const key = writeQueue(state);

  const [rows, setRows] = useState<ServiceRequest[]>([]);
  const [next, setNext] = useState("");
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState("");
  const [counts, setCounts] = useState<Record<string, QueueCount>>({});
  const [rev, setRev] = useState(0);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [fresh, setFresh] = useState<Set<string>>(new Set());
  const [notice, setNotice] = useState("");
  const [help, setHelp] = useState(false);
  const seen = useRef<Set<string> | null>(null);

  const update = (s: QueueState) =>
    navigate(`/staff?${writeQueue(s)}`, { replace: true });

  // The first page of the list, and the counts per status beside it.
  useEffect(() => {
    let on = true;
    const filters = apiFilters(state);
    setLoading(true);
    client.staff
      .queuePage({
        ...filters,
        ...(state.status.length ? { status: state.status } : {}),
        page_size: PAGE,
        language: app.lang,
      })
      .then(
        (p) => {
          if (!on) return;
          const before = seen.current;
          if (before)
            setFresh(
              new Set(
                p.requests
                  .map((r) => r.request_id)
                  .filter((id) => !before.has(id)),
              ),
            );
          seen.current = new Set(p.requests.map((r) => r.request_id));
          setRows(p.requests);
          setNext(p.next_page_token);
          setError("");
          setLoading(false);
        },
        (e: unknown) => {
          if (!on) return;
          setError(errorText(e, app.t));
          setLoading(false);
        },
      );
    for (const st of STATUSES) {
      client.staff.count({ ...filters, status: [st] }, COUNT_CAP).then(
        (c) => on && setCounts((all) => ({ ...all, [st]: c })),
        () => undefined,
      );
    }
    return () => {
      on = false;
    };
  }, [key, rev, app.lang]);

  // A new view starts without selection and without "new" marks.
  useEffect(() => {
    seen.current = null;
    setSelected(new Set());
    setFresh(new Set());
  }, [key]);

  // Live refresh: the inbox stream (opened by the app for every signed-in account) brings the
  // department's new reports and changes; each one reloads the list.
  useEffect(() => {
    let last = live.get()[0]?.notification_id;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const off = live.subscribe((items) => {
      const head = items[0];
      if (!head || head.notification_id === last) return;
      last = head.notification_id;
      if (!head.request_id) return;
      clearTimeout(timer);
      timer = setTimeout(() => {
        setRev((n) => n + 1);
        setNotice(t("work.liveRefreshed"));
      }, 300);
    });
    return () => {
      off();
      clearTimeout(timer);
    };
  }, []);

  async function more() {
    const p = await client.staff
      .queuePage({
        ...apiFilters(state),
        ...(state.status.length ? { status: state.status } : {}),
        page_size: PAGE,
        page_token: next,
        language: app.lang,
      })
      .catch((e: unknown) => {
        setError(errorText(e, app.t));
        return null;
      });
    if (!p) return;
    setRows((r) => [...r, ...p.requests]);
    setNext(p.next_page_token);
  }

  async function acknowledge(r: ServiceRequest) {
    try {
      await client.requests.transition(r.request_id, {
        status: "ACKNOWLEDGED",
      });
      setNotice(
        t("work.acknowledgedOne", { name: r.service_name || r.service_code }),
      );
      setRev((n) => n + 1);
    } catch (e) {
      setNotice(errorText(e, app.t));
    }
  }

  const sorted = useMemo(() => sortRows(rows, state.sort), [rows, state.sort]);
  const chosen = sorted.filter((r) => selected.has(r.request_id));

  return (
    <section class="page staff-queue" aria-labelledby="page-title">
      <div class="staff-heading">
        <h1 id="page-title" tabIndex={-1}>
          {t("work.queue")}
        </h1>
        <button type="button" class="link" onClick={() => setHelp(true)}>
          {t("work.shortcuts")}
        </button>
      </div>
      <QueueFilterBar
        state={state}
        departments={departments}
        services={services}
        admin={admin}
        district={district}
        onChange={update}
      />
      <StatusCounts
        counts={counts}
        active={state.status}
        onPick={(st) => update({ ...state, status: [st] })}
      />
      <p role="status" class="staff-notice">
        {notice}
      </p>
      {chosen.length ? (
        <BulkBar
          rows={chosen}
          onDone={(msg) => {
            setNotice(msg);
            setSelected(new Set());
            setRev((n) => n + 1);
          }}
        />
      ) : null}
      {error ? <p role="alert">{error}</p> : null}
      {loading && !rows.length ? (
        <p role="status">{app.t("app.loading")}</p>
      ) : null}
      <QueueTable
        rows={sorted}
        selected={selected}
        fresh={fresh}
        onSelect={setSelected}
        onAcknowledge={acknowledge}
        onHelp={() => setHelp(true)}
        paused={help}
      />
      {!loading && !rows.length && !error ? <p>{t("work.empty")}</p> : null}
      {next ? (
        <button type="button" class="button" onClick={() => void more()}>
          {t("work.more")}
        </button>
      ) : null}
      {help ? <ShortcutHelp onClose={() => setHelp(false)} /> : null}
    </section>
  );
}

function StatusCounts(props: {
  counts: Record<string, QueueCount>;
  active: string[];
  onPick: (status: (typeof STATUSES)[number]) => void;
}) {
  const { t } = useStaffI18n();
  const app = useI18n();
  const lowerBound = Object.values(props.counts).some((c) => !c.exact);
  return (
    <div class="staff-counts">
      <h2 class="visually-hidden">{t("work.counts")}</h2>
      <ul aria-label={t("work.counts")}>
        {STATUSES.map((st) => {
          const c = props.counts[st];
          const n = c ? (c.exact ? String(c.count) : `${c.count}+`) : "…";
          return (
            <li key={st}>
              <button
                type="button"
                class="staff-count"
                aria-pressed={
                  props.active.length === 1 && props.active[0] === st
                }
                data-testid={`count-${st}`}
                onClick={() => props.onPick(st)}
              >
                <span class="staff-count-n">{n}</span> {app.t(`status.${st}`)}
              </button>
            </li>
          );
        })}
      </ul>
      {lowerBound ? (
        <p class="hint">{t("work.countsLowerBound", { n: COUNT_CAP })}</p>
      ) : null}
    </div>
  );
}
