import { useEffect, useState } from "preact/hooks";
import { useI18n } from "../../i18n";
import { client, errorText } from "../../lib/api";
import { listOutbox, outboxSent, type QueuedReport } from "../../lib/outbox";
import { useStore } from "../../lib/store";
import type { ServiceRequest } from "../../lib/types";
import { Loading, Notice, Page } from "../../components/ui";
import { RequestCard } from "../../components/RequestCard";

export function MyReports() {
  const { t } = useI18n();
  const [items, setItems] = useState<ServiceRequest[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState("");
  const [queued, setQueued] = useState<QueuedReport[]>([]);
  const sent = useStore(outboxSent);

  async function load(token?: string) {
    setLoading(true);
    try {
      const page = await client.requests.minePage({
        page_size: 20,
        page_token: token,
      });
      setItems((old) => (token ? [...old, ...page.requests] : page.requests));
      setNext(page.next_page_token || null);
      setError("");
    } catch (e) {
      setError(errorText(e, t));
    } finally {
      setLoading(false);
    }
  }

  useEffect(() => {
    void load();
    listOutbox().then(setQueued, () => setQueued([]));
  }, [sent]);

  return (
    <Page title={t("mine.title")}>
      {queued.length ? (
        <section aria-labelledby="queued-title">
          <h2 id="queued-title">{t("mine.queued")}</h2>
          <ul class="cards">
            {queued.map((q) => (
              <li class="card" key={q.key}>
                <p class="card-title">{q.body.service_code}</p>
                {q.body.description ? (
                  <p class="muted">{q.body.description}</p>
                ) : null}
                <p class="muted small">{t("mine.queuedText")}</p>
              </li>
            ))}
          </ul>
        </section>
      ) : null}
      {error ? <Notice kind="error">{error}</Notice> : null}
      {items.length ? (
        <ul class="cards">
          {items.map((r) => (
            <RequestCard key={r.request_id} request={r} />
          ))}
        </ul>
      ) : loading ? (
        <Loading />
      ) : !error ? (
        <p>{t("mine.empty")}</p>
      ) : null}
      {next ? (
        <button
          type="button"
          class="button"
          disabled={loading}
          onClick={() => load(next)}
        >
          {t("mine.more")}
        </button>
      ) : null}
    </Page>
  );
}
