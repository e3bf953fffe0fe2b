import { StatusBadge } from "../../../components/StatusBadge";
import { formatDate, useI18n } from "../../../i18n";
import type { ServiceRequest } from "../../../lib/types";
import { useStaffI18n } from "../../i18n";

// Every history entry with what staff see: internal notes, actors, reroutes and assignments.
export function StaffHistory(props: { request: ServiceRequest; me: string }) {
  const { t } = useStaffI18n();
  const app = useI18n();
  const h = props.request.history ?? [];
  return (
    <section aria-labelledby="history-title">
      <h2 id="history-title">{t("work.req.history")}</h2>
      <ol class="timeline">
        {h.map((e, i) => (
          <li key={i}>
            <p>
              {e.kind === "reroute" ? (
                t("work.req.h.reroute", { from: e.from_value, to: e.to_value })
              ) : e.kind === "assign" ? (
                e.to_value ? (
                  t("work.req.h.assign", {
                    to:
                      e.to_value === props.me ? t("work.req.you") : e.to_value,
                  })
                ) : (
                  t("work.req.h.unassign")
                )
              ) : (
                <StatusBadge status={e.to_status} />
              )}{" "}
              <span class="hint">
                {formatDate(app.lang, e.at)}
                {e.actor_account_id
                  ? ` · ${
                      e.actor_account_id === props.me
                        ? t("work.req.you")
                        : e.actor_account_id
                    }`
                  : ""}
              </span>
            </p>
            {e.public_note ? <p>{e.public_note}</p> : null}
            {e.internal_note ? (
              <p class="staff-internal">
                {t("work.req.internal")}: {e.internal_note}
              </p>
            ) : null}
          </li>
        ))}
      </ol>
    </section>
  );
}
