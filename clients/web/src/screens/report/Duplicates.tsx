import { useI18n } from "../../i18n";
import type { ServiceRequest } from "../../lib/types";
import { useFocusOnMount } from "../../components/ui";
import { StatusBadge } from "../../components/StatusBadge";

/** "Is it one of these?": open requests nearby, each to follow instead of reporting again. */
export function Duplicates(props: {
  candidates: ServiceRequest[];
  /** The category's name in the UI language (the suggestions come without a language). */
  serviceName?: string;
  busy: boolean;
  onFollow: (id: string) => void;
  onSendAnyway: () => void;
}) {
  const { t } = useI18n();
  const heading = useFocusOnMount<HTMLHeadingElement>();
  return (
    <section class="duplicates" aria-labelledby="dup-title">
      <h2 id="dup-title" tabIndex={-1} ref={heading}>
        {t("report.duplicatesTitle")}
      </h2>
      <p>{t("report.duplicatesText")}</p>
      <ul class="cards">
        {props.candidates.map((r) => (
          <li class="card" key={r.request_id}>
            <p class="card-title">
              <a
                href={`/requests/${r.request_id}`}
                target="_blank"
                rel="noopener"
              >
                {props.serviceName || r.service_name}
              </a>{" "}
              <StatusBadge status={r.status} />
            </p>
            {r.address ? <p>{r.address}</p> : null}
            {r.description ? <p class="muted">{r.description}</p> : null}
            <button
              type="button"
              class="button button--primary"
              disabled={props.busy}
              onClick={() => props.onFollow(r.request_id ?? "")}
            >
              {t("report.followInstead")}
            </button>
          </li>
        ))}
      </ul>
      <button
        type="button"
        class="button"
        disabled={props.busy}
        onClick={props.onSendAnyway}
      >
        {t("report.sendAnyway")}
      </button>
    </section>
  );
}
