import { useEffect, useRef, useState } from "preact/hooks";
import { StatusBadge } from "../../components/StatusBadge";
import { formatDate, useI18n } from "../../i18n";
import { navigate } from "../../lib/router";
import type { ServiceRequest } from "../../lib/types";
import { useStaffI18n } from "../i18n";
import { isOverdue } from "./filters";

/** Keys typed into a field are text, not shortcuts. */
function typing(e: KeyboardEvent): boolean {
  const el = e.target as HTMLElement | null;
  return (
    !!el &&
    (el.isContentEditable ||
      ["INPUT", "TEXTAREA", "SELECT"].includes(el.tagName))
  );
}

// The queue's rows: a table with one current row (roving tabindex) and the shortcuts j/k (move),
// x (select), a (acknowledge), Enter (open) and ? (help).
export function QueueTable(props: {
  rows: ServiceRequest[];
  selected: Set<string>;
  fresh: Set<string>;
  onSelect: (s: Set<string>) => void;
  onAcknowledge: (r: ServiceRequest) => void;
  onHelp: () => void;
  paused: boolean;
}) {
  const { t } = useStaffI18n();
  const app = useI18n();
  const [cur, setCur] = useState(0);
  const body = useRef<HTMLTableSectionElement>(null);
  const { rows, selected } = props;
  const at = Math.min(cur, Math.max(0, rows.length - 1));

  const focusRow = (i: number) => {
    setCur(i);
    (body.current?.children[i] as HTMLElement | undefined)?.focus();
  };
  const toggle = (id: string) => {
    const s = new Set(selected);
    if (s.has(id)) s.delete(id);
    else s.add(id);
    props.onSelect(s);
  };

  const inRows = () => !!body.current?.contains(document.activeElement);

  const handler = useRef<(e: KeyboardEvent) => void>();
  handler.current = (e) => {
    if (props.paused || typing(e) || e.ctrlKey || e.metaKey || e.altKey) return;
    const r = rows[at];
    if (e.key === "?") props.onHelp();
    else if (!r) return;
    else if ((e.key === "j" || e.key === "k") && !inRows()) focusRow(at);
    else if (e.key === "j") focusRow(Math.min(at + 1, rows.length - 1));
    else if (e.key === "k") focusRow(Math.max(at - 1, 0));
    else if (e.key === "x") toggle(r.request_id);
    else if (e.key === "a" && r.status === "SUBMITTED") props.onAcknowledge(r);
    else if (e.key === "Enter" && (e.target as Element).tagName === "TR")
      navigate(`/staff/requests/${r.request_id}`);
    else return;
    e.preventDefault();
  };
  useEffect(() => {
    const on = (e: KeyboardEvent) => handler.current?.(e);
    document.addEventListener("keydown", on);
    return () => document.removeEventListener("keydown", on);
  }, []);

  if (!rows.length) return null;
  const all = rows.every((r) => selected.has(r.request_id));
  return (
    <table class="staff-table">
      <caption class="visually-hidden">{t("work.tableCaption")}</caption>
      <thead>
        <tr>
          <th scope="col">
            <input
              type="checkbox"
              aria-label={t("work.selectAll")}
              checked={all}
              onChange={() =>
                props.onSelect(
                  all ? new Set() : new Set(rows.map((r) => r.request_id)),
                )
              }
            />
          </th>
          <th scope="col">{t("work.col.category")}</th>
          <th scope="col">{t("work.col.status")}</th>
          <th scope="col">{t("work.col.place")}</th>
          <th scope="col">{t("work.col.received")}</th>
          <th scope="col">{t("work.col.due")}</th>
          <th scope="col">{t("work.col.assignee")}</th>
        </tr>
      </thead>
      <tbody ref={body}>
        {rows.map((r, i) => {
          const name = r.service_name || r.service_code;
          const late = isOverdue(r);
          return (
            <tr
              key={r.request_id}
              tabIndex={i === at ? 0 : -1}
              aria-current={i === at ? "true" : undefined}
              aria-selected={selected.has(r.request_id)}
              class={
                (i === at ? "is-current " : "") +
                (props.fresh.has(r.request_id) ? "is-new" : "")
              }
              data-request-id={r.request_id}
              onFocus={() => setCur(i)}
            >
              <td>
                <input
                  type="checkbox"
                  tabIndex={-1}
                  aria-label={t("work.selectRow", { name, id: r.request_id })}
                  checked={selected.has(r.request_id)}
                  onChange={() => toggle(r.request_id)}
                />
              </td>
              <td>
                <a href={`/staff/requests/${r.request_id}`} tabIndex={-1}>
                  {name}
                </a>
                {props.fresh.has(r.request_id) ? (
                  <span class="staff-new"> {t("work.new")}</span>
                ) : null}
                <div class="hint staff-desc">{r.description}</div>
              </td>
              <td>
                <StatusBadge status={r.status} />
              </td>
              <td>
                {r.address ||
                  (r.lat || r.long
                    ? `${r.lat.toFixed(5)}, ${r.long.toFixed(5)}`
                    : "")}
              </td>
              <td>{formatDate(app.lang, r.requested_at)}</td>
              <td class={late ? "staff-late" : ""}>
                {formatDate(app.lang, r.expected_at)}
                {late ? ` · ${t("work.late")}` : ""}
              </td>
              <td>{r.assignee_name || (r.assignee_account_id ? "✓" : "—")}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
