import { useState } from "preact/hooks";
import { client } from "../../../lib/api";
import type { ServiceRequest } from "../../../lib/types";
import { useStaffI18n } from "../../i18n";
import { useAction } from "../../useAction";

/** The photos at full size (each opens on its own). */
export function Photos(props: { request: ServiceRequest }) {
  const { t } = useStaffI18n();
  const urls = props.request.media_urls ?? [];
  return (
    <section aria-labelledby="photos-title">
      <h2 id="photos-title">{t("work.req.photos")}</h2>
      {urls.length ? (
        urls.map((u, i) => (
          <figure key={u} class="staff-photo">
            <a href={u} target="_blank" rel="noopener">
              <img src={u} alt={t("work.req.photoN", { n: i + 1 })} />
            </a>
          </figure>
        ))
      ) : (
        <p class="hint">{t("work.req.noPhotos")}</p>
      )}
    </section>
  );
}

/** Hide photos and/or replace the description, with a reason (kept in the audit). */
export function ModerationPanel(props: {
  request: ServiceRequest;
  onChanged: (next: ServiceRequest, message: string) => void;
}) {
  const { t } = useStaffI18n();
  const r = props.request;
  const ids = r.media_ids ?? [];
  const [hide, setHide] = useState<string[]>([]);
  const [redact, setRedact] = useState(false);
  const [text, setText] = useState(r.description);
  const [reason, setReason] = useState("");
  const { busy, run, alert } = useAction();

  const submit = () =>
    run(async () => {
      const next = await client.staff.moderate(r.request_id, {
        reason: reason.trim(),
        ...(hide.length ? { hide_media_ids: hide } : {}),
        ...(redact ? { description: text } : {}),
      });
      setHide([]);
      setRedact(false);
      setReason("");
      props.onChanged(next, t("work.req.moderated"));
    });

  return (
    <section aria-labelledby="moderate-title" class="staff-panel">
      <h2 id="moderate-title">{t("work.req.moderate")}</h2>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void submit();
        }}
      >
        {ids.map((id, i) => (
          <label key={id} class="staff-check">
            <input
              type="checkbox"
              checked={hide.includes(id)}
              onChange={(e) =>
                setHide((h) =>
                  e.currentTarget.checked
                    ? [...h, id]
                    : h.filter((x) => x !== id),
                )
              }
            />
            {t("work.req.hidePhoto", { n: i + 1 })}
          </label>
        ))}
        <label class="staff-check">
          <input
            type="checkbox"
            checked={redact}
            onChange={(e) => setRedact(e.currentTarget.checked)}
          />
          {t("work.req.redact")}
        </label>
        {redact ? (
          <label class="staff-field">
            {t("work.req.newDescription")}
            <textarea
              rows={4}
              maxLength={4000}
              value={text}
              onInput={(e) => setText(e.currentTarget.value)}
            />
          </label>
        ) : null}
        <label class="staff-field">
          {t("work.req.reason")}
          <input
            value={reason}
            required
            maxLength={500}
            onInput={(e) => setReason(e.currentTarget.value)}
          />
        </label>
        <button
          type="submit"
          class="button"
          disabled={busy || (!hide.length && !redact)}
        >
          {t("work.req.moderateSubmit")}
        </button>
        {alert}
      </form>
      {(r.moderation ?? []).length ? (
        <ul class="hint">
          {(r.moderation ?? []).map((m, i) => (
            <li key={i}>
              {m.reason} ({m.actor_account_id})
            </li>
          ))}
        </ul>
      ) : null}
    </section>
  );
}
