import { useState } from "preact/hooks";
import { useI18n } from "../../i18n";
import { client, errorText } from "../../lib/api";
import type { ServiceRequest } from "../../lib/types";
import { useStaffI18n } from "../i18n";
import { TemplatePicker } from "./TemplatePicker";

// Bulk acknowledge of the selected rows, with one public note for all (typed or from a template).
// Only SUBMITTED requests can be acknowledged; the others are left alone and said so.
export function BulkBar(props: {
  rows: ServiceRequest[];
  onDone: (message: string) => void;
}) {
  const { t } = useStaffI18n();
  const app = useI18n();
  const [note, setNote] = useState("");
  const [busy, setBusy] = useState(false);
  const [failures, setFailures] = useState<string[]>([]);
  const todo = props.rows.filter((r) => r.status === "SUBMITTED");
  const skipped = props.rows.length - todo.length;

  async function run() {
    setBusy(true);
    const out = await client.staff.acknowledgeAll(
      todo.map((r) => r.request_id),
      note.trim() ? { public_note: note.trim() } : {},
    );
    setBusy(false);
    const bad = out.filter((o) => !o.ok);
    setFailures(
      bad.map((o) => `${o.request_id}: ${errorText(!o.ok && o.error, app.t)}`),
    );
    props.onDone(
      t("work.bulkDone", { ok: out.length - bad.length, failed: bad.length }),
    );
  }

  return (
    <form
      class="staff-bulk"
      aria-label={t("work.bulk")}
      onSubmit={(e) => {
        e.preventDefault();
        if (!busy && todo.length) void run();
      }}
    >
      <p>
        {t("work.selectedN", { n: props.rows.length })}
        {skipped ? ` ${t("work.bulkSkipped", { n: skipped })}` : ""}
      </p>
      <TemplatePicker
        onInsert={(text) => setNote((n) => (n ? `${n}\n${text}` : text))}
      />
      <label>
        {t("work.publicNote")}
        <textarea
          rows={2}
          maxLength={2000}
          value={note}
          onInput={(e) => setNote(e.currentTarget.value)}
        />
      </label>
      <button
        type="submit"
        class="button"
        disabled={busy || !todo.length}
        aria-busy={busy}
      >
        {t("work.bulkAcknowledge", { n: todo.length })}
      </button>
      {failures.length ? (
        <ul role="alert">
          {failures.map((f) => (
            <li key={f}>{f}</li>
          ))}
        </ul>
      ) : null}
    </form>
  );
}
