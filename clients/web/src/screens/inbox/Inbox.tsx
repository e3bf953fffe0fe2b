import { useEffect, useState } from "preact/hooks";
import { formatDate, useI18n } from "../../i18n";
import { client, errorText } from "../../lib/api";
import { live, refreshUnread, unread } from "../../lib/inbox";
import { useStore } from "../../lib/store";
import type { Notification } from "../../lib/types";
import { Loading, Notice, Page } from "../../components/ui";

/** The inbox: the newest page from the API with the live entries of the SDK stream on top. */
export function Inbox() {
  const { t, lang } = useI18n();
  const fresh = useStore(live);
  const [items, setItems] = useState<Notification[] | null>(null);
  const [error, setError] = useState("");
  const [readIds, setReadIds] = useState<Set<string>>(new Set());

  useEffect(() => {
    client.notifications.listPage({ page_size: 50 }).then(
      (p) => setItems(p.notifications),
      (e: unknown) => setError(errorText(e, t)),
    );
    void refreshUnread();
  }, []);

  const seen = new Set<string>();
  const all: Notification[] = [];
  for (const n of [...fresh, ...(items ?? [])]) {
    if (!n.notification_id || seen.has(n.notification_id)) continue;
    seen.add(n.notification_id);
    all.push(n);
  }
  const isRead = (n: Notification) =>
    n.read || readIds.has(n.notification_id ?? "");

  async function markRead(n: Notification) {
    if (isRead(n) || !n.notification_id) return;
    setReadIds(new Set([...readIds, n.notification_id]));
    unread.set(Math.max(0, unread.get() - 1));
    try {
      await client.notifications.markRead(n.notification_id);
    } catch {
      void refreshUnread();
    }
  }

  async function markAll() {
    setReadIds(new Set(all.map((n) => n.notification_id ?? "")));
    unread.set(0);
    try {
      await client.notifications.markAllRead();
    } catch (e) {
      setError(errorText(e, t));
    }
    void refreshUnread();
  }

  return (
    <Page title={t("inbox.title")}>
      <p class="muted small">{t("inbox.live")}</p>
      {error ? <Notice kind="error">{error}</Notice> : null}
      {all.some((n) => !isRead(n)) ? (
        <button type="button" class="button" onClick={markAll}>
          {t("inbox.markAllRead")}
        </button>
      ) : null}
      {items === null && !error ? <Loading /> : null}
      <ul class="cards inbox" aria-live="polite" aria-relevant="additions">
        {all.map((n) => (
          <li
            key={n.notification_id}
            class={"card" + (isRead(n) ? "" : " card--unread")}
          >
            <p class="card-title">
              {isRead(n) ? null : (
                <span class="dot" aria-label={t("inbox.unread")} role="img" />
              )}
              {n.title}
            </p>
            {n.body ? <p>{n.body}</p> : null}
            <p class="muted small">{formatDate(lang, n.created_at)}</p>
            <div class="row">
              {n.request_id ? (
                <a
                  class="button button--small"
                  href={`/requests/${n.request_id}`}
                  onClick={() => void markRead(n)}
                >
                  {t("inbox.open")}
                </a>
              ) : null}
              {isRead(n) ? null : (
                <button
                  type="button"
                  class="button button--small"
                  onClick={() => markRead(n)}
                >
                  {t("inbox.markRead")}
                </button>
              )}
            </div>
          </li>
        ))}
      </ul>
      {items !== null && !all.length ? <p>{t("inbox.empty")}</p> : null}
    </Page>
  );
}
