import { useI18n, type MessageKey } from "../i18n";

const known = [
  "SUBMITTED",
  "ACKNOWLEDGED",
  "IN_PROGRESS",
  "RESOLVED",
  "REJECTED",
  "DUPLICATE",
  "CLOSED",
];

export function StatusBadge(props: { status?: string }) {
  const { t } = useI18n();
  const s = props.status ?? "";
  const text = known.includes(s) ? t(`status.${s}` as MessageKey) : s;
  return <span class={`status status--${s.toLowerCase()}`}>{text}</span>;
}
