import { useEffect, useState } from "preact/hooks";
import { formatDate, useI18n } from "../../../i18n";
import { client, errorText } from "../../../lib/api";
import type { Comment, ServiceRequest } from "../../../lib/types";
import { useStaffI18n } from "../../i18n";
import { useAction } from "../../useAction";

// The comments as staff see them (hidden ones marked), a staff comment, hiding one with a reason.
export function StaffComments(props: {
  request: ServiceRequest;
  onNotice: (m: string) => void;
}) {
  const { t } = useStaffI18n();
  const app = useI18n();
  const id = props.request.request_id;
  const [list, setList] = useState<Comment[]>([]);
  const [text, setText] = useState("");
  const [hiding, setHiding] = useState("");
  const [reason, setReason] = useState("");
  const { busy, run, fail, alert } = useAction();
  const [rev, setRev] = useState(0);

  useEffect(() => {
    let on = true;
    void (async () => {
      const all: Comment[] = [];
      for await (const c of client.requests.comments(id)) all.push(c);
      if (on) setList(all);
    })().catch((e: unknown) => on && fail(errorText(e, app.t)));
    return () => {
      on = false;
    };
  }, [id, rev]);

  const act = async (fn: () => Promise<unknown>, msg: string) => {
    if (await run(fn)) {
      props.onNotice(msg);
      setRev((n) => n + 1);
    }
  };

  return (
    <section aria-labelledby="comments-title">
      <h2 id="comments-title">{t("work.req.comments")}</h2>
      <ul class="staff-comments">
        {list.map((c) => (
          <li
            key={c.comment_id}
            class={
              "comment" + (c.author_role === "staff" ? " comment--staff" : "")
            }
          >
            <p class="hint">
              {c.author_role === "staff"
                ? t("work.req.byStaff")
                : t("work.req.byResident")}{" "}
              · {formatDate(app.lang, c.created_at)}
            </p>
            {c.hidden ? (
              <p class="hint">{t("work.req.commentHidden")}</p>
            ) : (
              <p>{c.text}</p>
            )}
            {!c.hidden && hiding !== c.comment_id ? (
              <button
                type="button"
                class="link"
                onClick={() => {
                  setHiding(c.comment_id);
                  setReason("");
                }}
              >
                {t("work.req.hideComment")}
              </button>
            ) : null}
            {hiding === c.comment_id ? (
              <form
                onSubmit={(e) => {
                  e.preventDefault();
                  void act(async () => {
                    await client.staff.hideComment(
                      id,
                      c.comment_id,
                      reason.trim(),
                    );
                    setHiding("");
                  }, t("work.req.commentHiddenDone"));
                }}
              >
                <label class="staff-field">
                  {t("work.req.reason")}
                  <input
                    value={reason}
                    required
                    maxLength={500}
                    onInput={(e) => setReason(e.currentTarget.value)}
                  />
                </label>
                <button type="submit" class="button" disabled={busy}>
                  {t("work.req.hideComment")}
                </button>
              </form>
            ) : null}
          </li>
        ))}
      </ul>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void act(async () => {
            await client.requests.addComment(id, text.trim());
            setText("");
          }, t("work.req.commented"));
        }}
      >
        <label class="staff-field">
          {t("work.req.newComment")}
          <textarea
            rows={3}
            maxLength={2000}
            value={text}
            onInput={(e) => setText(e.currentTarget.value)}
          />
        </label>
        <button type="submit" class="button" disabled={busy || !text.trim()}>
          {t("work.req.comment")}
        </button>
      </form>
      {alert}
    </section>
  );
}
