import { formatDate, useI18n } from "../i18n";
import type { ServiceRequest } from "../lib/types";
import { StatusBadge } from "./StatusBadge";

export function RequestCard(props: {
  request: ServiceRequest;
  extra?: string;
}) {
  const { lang } = useI18n();
  const r = props.request;
  return (
    <li class="card">
      <p class="card-title">
        <a href={`/requests/${r.request_id}`}>
          {r.service_name || r.service_code}
        </a>{" "}
        <StatusBadge status={r.status} />
      </p>
      {r.address ? <p>{r.address}</p> : null}
      {r.description ? <p class="muted clamp">{r.description}</p> : null}
      <p class="muted small">
        {formatDate(lang, r.requested_at)}
        {props.extra ? ` · ${props.extra}` : ""}
      </p>
    </li>
  );
}
