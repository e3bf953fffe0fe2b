import { useState } from "preact/hooks";
import { useI18n } from "../../../i18n";
import { client } from "../../../lib/api";
import type { Account, ServiceRequest } from "../../../lib/types";
import { useStaffI18n, type StaffKey } from "../../i18n";
import { useServices } from "../data";
import { isOpen, MOVES } from "../filters";
import { TemplatePicker } from "../TemplatePicker";
import { useAction } from "../../useAction";

type Changed = (next: ServiceRequest, message: string) => void;

function Note(props: {
  label: string;
  value: string;
  max: number;
  onValue: (v: string) => void;
}) {
  return (
    <label class="staff-field">
      {props.label}
      <textarea
        rows={3}
        maxLength={props.max}
        value={props.value}
        onInput={(e) => props.onValue(e.currentTarget.value)}
      />
    </label>
  );
}

/** Moves the request on, with a public note (templates insert into it) and an internal one. */
export function TransitionPanel(props: {
  request: ServiceRequest;
  onChanged: Changed;
}) {
  const { t } = useStaffI18n();
  const app = useI18n();
  const r = props.request;
  const moves = MOVES[r.status] ?? [];
  const [to, setTo] = useState("");
  const [pub, setPub] = useState("");
  const [internal, setInternal] = useState("");
  const [dup, setDup] = useState("");
  const { busy, run, alert } = useAction();
  const target = moves.includes(to as never) ? to : (moves[0] ?? "");

  const submit = () =>
    run(async () => {
      const next = await client.requests.transition(r.request_id, {
        status: target as NonNullable<
          Parameters<typeof client.requests.transition>[1]["status"]
        >,
        ...(pub.trim() ? { public_note: pub.trim() } : {}),
        ...(internal.trim() ? { internal_note: internal.trim() } : {}),
        ...(target === "DUPLICATE" ? { duplicate_of: dup.trim() } : {}),
      });
      setPub("");
      setInternal("");
      setDup("");
      setTo("");
      props.onChanged(
        next,
        t("work.req.moved", {
          status: app.t(`status.${next.status}` as never),
        }),
      );
    });

  return (
    <section aria-labelledby="move-title" class="staff-panel">
      <h2 id="move-title">{t("work.req.move")}</h2>
      {moves.length ? (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void submit();
          }}
        >
          <label class="staff-field">
            {t("work.req.newStatus")}
            <select
              value={target}
              onChange={(e) => setTo(e.currentTarget.value)}
            >
              {moves.map((m) => (
                <option key={m} value={m}>
                  {app.t(`status.${m}`)}
                </option>
              ))}
            </select>
          </label>
          {target === "DUPLICATE" ? (
            <label class="staff-field">
              {t("work.req.duplicateOf")}
              <input
                value={dup}
                required
                pattern="[0-7][0-9A-HJKMNP-TV-Z]{25}"
                onInput={(e) => setDup(e.currentTarget.value)}
              />
            </label>
          ) : null}
          <TemplatePicker
            department={r.department}
            onInsert={(text) => setPub((n) => (n ? `${n}\n${text}` : text))}
          />
          <Note
            label={t("work.req.publicNote")}
            value={pub}
            max={2000}
            onValue={setPub}
          />
          <Note
            label={t("work.req.internalNote")}
            value={internal}
            max={4000}
            onValue={setInternal}
          />
          <button type="submit" class="button button--primary" disabled={busy}>
            {t("work.req.moveTo", {
              status: app.t(`status.${target}` as never),
            })}
          </button>
          {alert}
        </form>
      ) : (
        <p class="hint">{t("work.req.final")}</p>
      )}
    </section>
  );
}

/**
 * Assign to me / unassign. The public API gives operators no way to look up colleagues (finding
 * an account by e-mail is for admins), so only admins can assign to someone else, by e-mail.
 */
export function AssignPanel(props: {
  request: ServiceRequest;
  me: Account | null;
  onChanged: Changed;
}) {
  const { t } = useStaffI18n();
  const r = props.request;
  const admin = !!props.me?.roles?.includes("admin");
  const mine = !!props.me && r.assignee_account_id === props.me.account_id;
  const [email, setEmail] = useState("");
  const { busy, run, alert } = useAction();

  const assign = (account: string, msg: StaffKey) =>
    run(async () => {
      props.onChanged(await client.staff.assign(r.request_id, account), t(msg));
    });
  const byEmail = () =>
    run(async () => {
      const found = await client.call<{ accounts?: Account[] }>(
        "GET",
        "/v1/accounts",
        { query: { email: email.trim() } },
      );
      const who = found.accounts?.[0];
      if (!who) throw new Error(t("work.req.noSuchAccount"));
      props.onChanged(
        await client.staff.assign(r.request_id, who.account_id),
        t("work.req.assigned"),
      );
    });

  return (
    <section aria-labelledby="assign-title" class="staff-panel">
      <h2 id="assign-title">{t("work.req.assign")}</h2>
      <p>
        {r.assignee_account_id
          ? t("work.req.assignedTo", {
              name: mine
                ? t("work.req.you")
                : r.assignee_name || r.assignee_account_id,
            })
          : t("work.req.unassigned")}
      </p>
      {isOpen(r.status) && !mine && props.me ? (
        <button
          type="button"
          class="button"
          disabled={busy}
          onClick={() =>
            void assign(props.me!.account_id, "work.req.assignedToMe")
          }
        >
          {t("work.req.assignMe")}
        </button>
      ) : null}
      {r.assignee_account_id ? (
        <button
          type="button"
          class="button"
          disabled={busy}
          onClick={() => void assign("", "work.req.unassignedDone")}
        >
          {t("work.req.unassign")}
        </button>
      ) : null}
      {admin && isOpen(r.status) ? (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void byEmail();
          }}
        >
          <label class="staff-field">
            {t("work.req.colleagueEmail")}
            <input
              type="email"
              maxLength={254}
              required
              value={email}
              onInput={(e) => setEmail(e.currentTarget.value)}
            />
          </label>
          <button type="submit" class="button" disabled={busy}>
            {t("work.req.assignColleague")}
          </button>
        </form>
      ) : (
        <p class="hint">{t("work.req.noColleagues")}</p>
      )}
      {alert}
    </section>
  );
}

/** Moves an open request to another category (and that category's department). */
export function ReroutePanel(props: {
  request: ServiceRequest;
  onChanged: Changed;
}) {
  const { t } = useStaffI18n();
  const app = useI18n();
  const r = props.request;
  const services = useServices(app.lang).filter(
    (s) => s.active && s.service_code !== r.service_code,
  );
  const [code, setCode] = useState("");
  const [pub, setPub] = useState("");
  const [internal, setInternal] = useState("");
  const { busy, run, alert } = useAction();
  if (!isOpen(r.status)) return null;

  const submit = () =>
    run(async () => {
      const next = await client.staff.reroute(r.request_id, {
        service_code: code,
        ...(pub.trim() ? { public_note: pub.trim() } : {}),
        ...(internal.trim() ? { internal_note: internal.trim() } : {}),
      });
      setCode("");
      setPub("");
      setInternal("");
      props.onChanged(
        next,
        t("work.req.rerouted", {
          name: next.service_name || next.service_code,
        }),
      );
    });

  return (
    <section aria-labelledby="reroute-title" class="staff-panel">
      <h2 id="reroute-title">{t("work.req.reroute")}</h2>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void submit();
        }}
      >
        <label class="staff-field">
          {t("work.req.newCategory")}
          <select
            value={code}
            required
            onChange={(e) => setCode(e.currentTarget.value)}
          >
            <option value="">{t("work.req.pick")}</option>
            {services.map((s) => (
              <option key={s.service_code} value={s.service_code}>
                {(s.name || s.service_code) + ` (${s.department})`}
              </option>
            ))}
          </select>
        </label>
        <Note
          label={t("work.req.publicNote")}
          value={pub}
          max={2000}
          onValue={setPub}
        />
        <Note
          label={t("work.req.internalNote")}
          value={internal}
          max={4000}
          onValue={setInternal}
        />
        <button type="submit" class="button" disabled={busy || !code}>
          {t("work.req.reroute")}
        </button>
        {alert}
      </form>
    </section>
  );
}
