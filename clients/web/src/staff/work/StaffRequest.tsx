import { useEffect, useState } from "preact/hooks";
import { StatusBadge } from "../../components/StatusBadge";
import { formatDate, useI18n } from "../../i18n";
import { client, errorText, useAccount } from "../../lib/api";
import type { Params } from "../../lib/router";
import type { ServiceRequest } from "../../lib/types";
import { useStaffI18n } from "../i18n";
import { isOverdue } from "./filters";
import { AssignPanel, ReroutePanel, TransitionPanel } from "./request/Actions";
import { StaffHistory } from "./request/StaffHistory";
import { ModerationPanel, Photos } from "./request/Moderation";
import { StaffComments } from "./request/StaffComments";

// A report's staff view (`/staff/requests/:id`): everything staff may see, and the moves.
export function StaffRequest(props: { params: Params }) {
  const { t } = useStaffI18n();
  const app = useI18n();
  const me = useAccount();
  const id = props.params.id ?? "";
  const [r, setR] = useState<ServiceRequest | null>(null);
  const [error, setError] = useState("");
  const [notice, setNotice] = useState("");

  useEffect(() => {
    let on = true;
    client.requests.get(id, app.lang).then(
      (x) => on && setR(x),
      (e: unknown) => on && setError(errorText(e, app.t)),
    );
    return () => {
      on = false;
    };
  }, [id, app.lang]);

  useEffect(() => {
    if (r) document.getElementById("page-title")?.focus();
  }, [!!r]);

  if (error) return <p role="alert">{error}</p>;
  if (!r) return <p role="status">{app.t("app.loading")}</p>;

  const changed = (next: ServiceRequest, msg: string) => {
    setR(next);
    setNotice(msg);
  };
  const c = r.contact;
  const contact = c
    ? [
        [
          t("work.req.contactName"),
          [c.first_name, c.last_name].join(" ").trim(),
        ],
        [t("work.req.contactEmail"), c.email],
        [t("work.req.contactPhone"), c.phone],
        [t("work.req.contactPartnerAccount"), c.partner_account_id],
      ].filter(([, v]) => v)
    : [];
  const attributes = Object.entries(r.attributes ?? {});
  return (
    <article class="staff-request" aria-labelledby="page-title">
      <p>
        <a href="/staff">{t("work.req.back")}</a>
      </p>
      <h1 id="page-title" tabIndex={-1}>
        {r.service_name || r.service_code}
      </h1>
      <p class="staff-meta">
        <StatusBadge status={r.status} /> · {t("work.req.id")} {r.request_id} ·{" "}
        {t("work.department")} {r.department}
        {isOverdue(r) ? (
          <strong class="staff-late"> · {t("work.late")}</strong>
        ) : null}
      </p>
      <p role="status" class="staff-notice">
        {notice}
      </p>
      <div class="staff-columns">
        <div>
          <section aria-labelledby="details-title">
            <h2 id="details-title">{t("work.req.details")}</h2>
            <dl class="staff-dl">
              <dt>{t("work.req.description")}</dt>
              <dd class="staff-text">{r.description || "—"}</dd>
              <dt>{t("work.req.place")}</dt>
              <dd>
                {[
                  r.address,
                  r.zipcode,
                  r.lat || r.long ? `${r.lat}, ${r.long}` : "",
                ]
                  .filter(Boolean)
                  .join(" · ") || "—"}
              </dd>
              <dt>{t("work.col.received")}</dt>
              <dd>{formatDate(app.lang, r.requested_at)}</dd>
              <dt>{t("work.col.due")}</dt>
              <dd>{formatDate(app.lang, r.expected_at) || "—"}</dd>
              <dt>{t("work.col.assignee")}</dt>
              <dd>{r.assignee_name || r.assignee_account_id || "—"}</dd>
              {r.status_notes ? (
                <>
                  <dt>{t("work.req.statusNotes")}</dt>
                  <dd class="staff-text">{r.status_notes}</dd>
                </>
              ) : null}
              {attributes.map(([k, v]) => (
                <div key={k}>
                  <dt>{k}</dt>
                  <dd>{Array.isArray(v) ? v.join(", ") : String(v)}</dd>
                </div>
              ))}
              <dt>{t("work.req.reporter")}</dt>
              <dd>
                {r.account_id
                  ? t("work.req.reporterAccount", { id: r.account_id })
                  : r.partner_name
                    ? t("work.req.reporterPartner", { name: r.partner_name })
                    : t("work.req.reporterAnonymous")}
              </dd>
            </dl>
          </section>
          <section aria-labelledby="contact-title">
            <h2 id="contact-title">{t("work.req.contact")}</h2>
            {contact.length ? (
              <dl class="staff-dl">
                {contact.map(([k, v]) => (
                  <div key={k}>
                    <dt>{k}</dt>
                    <dd>{v}</dd>
                  </div>
                ))}
                <dt>{t("work.req.contactConfirmed")}</dt>
                <dd>
                  {r.contact_confirmed ? t("work.req.yes") : t("work.req.no")}
                </dd>
              </dl>
            ) : (
              <p class="hint">{t("work.req.noContact")}</p>
            )}
          </section>
          {r.feedback ? (
            <section aria-labelledby="feedback-title">
              <h2 id="feedback-title">{t("work.req.feedback")}</h2>
              <p>
                {r.feedback.fixed
                  ? t("work.req.fixed")
                  : t("work.req.notFixed")}{" "}
                · {t("work.req.rating", { n: r.feedback.rating })}
              </p>
              {r.feedback.text ? <p>{r.feedback.text}</p> : null}
            </section>
          ) : null}
          <Photos request={r} />
          <StaffHistory request={r} me={me?.account_id ?? ""} />
          <StaffComments request={r} onNotice={setNotice} />
        </div>
        <aside aria-label={t("work.req.actions")} class="staff-actions">
          <TransitionPanel request={r} onChanged={changed} />
          <AssignPanel request={r} me={me} onChanged={changed} />
          <ReroutePanel request={r} onChanged={changed} />
          <ModerationPanel request={r} onChanged={changed} />
        </aside>
      </div>
    </article>
  );
}
