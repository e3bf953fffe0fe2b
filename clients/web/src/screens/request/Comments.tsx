import { useState } from "preact/hooks";
import { formatDate, useI18n } from "../../i18n";
import { client, errorText, useLoad, useSignedIn } from "../../lib/api";
import { Notice, TextArea } from "../../components/ui";

export function Comments(props: { requestId: string; canComment: boolean }) {
  const { t, lang } = useI18n();
  const signed = useSignedIn();
  const list = useLoad(
    () => client.requests.commentsPage(props.requestId, { page_size: 100 }),
    [props.requestId],
  );
  const [text, setText] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState("");

  async function submit(e: Event) {
    e.preventDefault();
    if (!text.trim()) return;
    setBusy(true);
    setError("");
    try {
      await client.requests.addComment(props.requestId, text.trim());
      setText("");
      list.reload();
    } catch (err) {
      setError(errorText(err, t));
    } finally {
      setBusy(false);
    }
  }

  const comments = list.data?.comments ?? [];
  return (
    <section aria-labelledby="comments-title">
      <h2 id="comments-title">{t("request.comments")}</h2>
      {comments.length ? (
        <ul class="comments">
          {comments.map((c) => (
            <li
              key={c.comment_id}
              class={
                c.author_role === "staff" ? "comment comment--staff" : "comment"
              }
            >
              <p class="muted small">
                {c.is_own
                  ? t("request.you")
                  : c.author_role === "staff"
                    ? t("request.staff")
                    : t("request.resident")}
                {" · "}
                {formatDate(lang, c.created_at)}
              </p>
              <p>{c.text}</p>
            </li>
          ))}
        </ul>
      ) : list.loading ? null : (
        <p class="muted">{t("request.noComments")}</p>
      )}
      {signed && props.canComment ? (
        <form class="form" onSubmit={submit}>
          <TextArea
            label={t("request.addComment")}
            maxLength={2000}
            value={text}
            onValue={setText}
          />
          {error ? <Notice kind="error">{error}</Notice> : null}
          <button type="submit" class="button" disabled={busy || !text.trim()}>
            {t("request.sendComment")}
          </button>
        </form>
      ) : null}
    </section>
  );
}
