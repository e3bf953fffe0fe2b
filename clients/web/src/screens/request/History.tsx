import { formatDate, useI18n } from "../../i18n";
import type { StatusChange } from "../../lib/types";
import { StatusBadge } from "../../components/StatusBadge";

export function History(props: { history: StatusChange[] }) {
  const { t, lang } = useI18n();
  return (
    <section aria-labelledby="history-title">
      <h2 id="history-title">{t("request.history")}</h2>
      {props.history.length ? (
        <ol class="timeline">
          {props.history.map((h, i) => (
            <li key={i}>
              <p>
                <StatusBadge status={h.to_status} />{" "}
                <span class="muted small">{formatDate(lang, h.at)}</span>
              </p>
              {h.public_note ? <p>{h.public_note}</p> : null}
            </li>
          ))}
        </ol>
      ) : (
        <p class="muted">{t("request.noHistory")}</p>
      )}
    </section>
  );
}
