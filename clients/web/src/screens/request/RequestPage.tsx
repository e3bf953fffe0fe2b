import { useEffect, useState } from "preact/hooks";
import { formatDate, useI18n } from "../../i18n";
import {
  client,
  errorStatus,
  errorText,
  useLoad,
  useSignedIn,
} from "../../lib/api";
import { live } from "../../lib/inbox";
import type { Params } from "../../lib/router";
import { useStore } from "../../lib/store";
import type { ServiceRequest } from "../../lib/types";
import { Loading, Notice, Page } from "../../components/ui";
import { StatusBadge } from "../../components/StatusBadge";
import { Comments } from "./Comments";
import { History } from "./History";

function FollowButton(props: {
  request: ServiceRequest;
  onChange: () => void;
}) {
  const { t } = useI18n();
  const signed = useSignedIn();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState("");
  const r = props.request;
  if (!signed) {
    return (
      <p>
        <a
          href={`/sign-in?next=${encodeURIComponent(`/requests/${r.request_id}`)}`}
        >
          {t("request.signInToFollow")}
        </a>
      </p>
    );
  }
  if (r.is_own) return null;
  async function toggle() {
    setBusy(true);
    setError("");
    try {
      if (r.following) await client.requests.unfollow(r.request_id ?? "");
      else await client.requests.follow(r.request_id ?? "");
      props.onChange();
    } catch (e) {
      setError(errorText(e, t));
    } finally {
      setBusy(false);
    }
  }
  return (
    <div class="follow">
      {r.following ? <p role="status">{t("request.following")}</p> : null}
      <button
        type="button"
        class={"button" + (r.following ? "" : " button--primary")}
        aria-pressed={r.following ? "true" : "false"}
        disabled={busy}
        onClick={toggle}
      >
        {r.following ? t("request.unfollow") : t("request.follow")}
      </button>
      {error ? <Notice kind="error">{error}</Notice> : null}
    </div>
  );
}

/** The answers, labelled with the category's own texts (falling back to the codes). */
function AttributeList(props: {
  serviceCode: string;
  attributes: Record<string, unknown>;
}) {
  const { t, lang } = useI18n();
  const service = useLoad(
    () => client.services.get(props.serviceCode, lang),
    [props.serviceCode, lang],
  );
  const entries = Object.entries(props.attributes);
  if (!entries.length) return null;
  const defs = service.data?.attributes ?? [];
  const show = (code: string, v: unknown): string => {
    const def = defs.find((d) => d.code === code);
    const name = (key: unknown) =>
      def?.values?.find((x) => x.key === key)?.name || String(key);
    if (Array.isArray(v)) return v.map(name).join(", ");
    if (typeof v === "boolean") return t(v ? "request.yes" : "request.no");
    return name(v);
  };
  return (
    <section aria-labelledby="details-title">
      <h2 id="details-title">{t("request.details")}</h2>
      <dl class="facts">
        {entries.map(([k, v]) => (
          <div key={k}>
            <dt>{defs.find((d) => d.code === k)?.description || k}</dt>
            <dd>{show(k, v)}</dd>
          </div>
        ))}
      </dl>
    </section>
  );
}

/** A report's page (also the target of mail links /requests/{id}). */
export function RequestPage({ params }: { params: Params }) {
  const { t, lang } = useI18n();
  const id = params.id;
  const req = useLoad(() => client.requests.get(id, lang), [id, lang]);
  const news = useStore(live);

  // An update about this request in the live inbox reloads the page's data.
  useEffect(() => {
    if (news[0]?.request_id === id) req.reload();
  }, [news[0]?.notification_id]);

  if (req.error && !req.data) {
    return (
      <Page title={t("request.title")}>
        <Notice kind="error">
          {errorStatus(req.error) === 404
            ? t("request.notFound")
            : errorText(req.error, t)}
        </Notice>
      </Page>
    );
  }
  const r = req.data;
  if (!r) {
    return (
      <Page title={t("request.title")}>
        <Loading />
      </Page>
    );
  }
  return (
    <Page title={r.service_name || t("request.title")}>
      <p class="status-line">
        <span class="muted">{t("request.status")}: </span>
        <StatusBadge status={r.status} />
      </p>
      {r.status_notes ? (
        <p class="note">
          <strong>{t("request.note")}: </strong>
          {r.status_notes}
        </p>
      ) : null}
      <dl class="facts">
        <div>
          <dt>{t("request.reported", { date: "" }).replace(/\s*$/, "")}</dt>
          <dd>{formatDate(lang, r.requested_at)}</dd>
        </div>
        {r.expected_at ? (
          <div>
            <dt>{t("request.expected", { date: "" }).replace(/\s*$/, "")}</dt>
            <dd>{formatDate(lang, r.expected_at)}</dd>
          </div>
        ) : null}
        {r.address ? (
          <div>
            <dt>{t("request.address")}</dt>
            <dd>{r.address}</dd>
          </div>
        ) : null}
        {r.lat || r.long ? (
          <div>
            <dt>{t("request.position")}</dt>
            <dd>
              {r.lat?.toFixed(5)}, {r.long?.toFixed(5)}
            </dd>
          </div>
        ) : null}
      </dl>
      {r.description ? <p class="description">{r.description}</p> : null}
      <p class="muted small">
        {t("request.followers", { count: r.follower_count ?? 0 })}
      </p>
      <FollowButton request={r} onChange={req.reload} />
      {r.media_urls?.length ? (
        <section aria-labelledby="photos-title">
          <h2 id="photos-title">{t("request.photos")}</h2>
          <ul class="photo-list">
            {r.media_urls.map((u, i) => (
              <li key={u}>
                <a href={u} target="_blank" rel="noopener">
                  <img
                    src={u}
                    alt={t("report.photoAlt", { n: i + 1 })}
                    loading="lazy"
                  />
                </a>
              </li>
            ))}
          </ul>
        </section>
      ) : null}
      {r.attributes && r.service_code ? (
        <AttributeList
          serviceCode={r.service_code}
          attributes={r.attributes as Record<string, unknown>}
        />
      ) : null}
      <History history={r.history ?? []} />
      <Comments requestId={id} canComment={!!r.is_own} />
    </Page>
  );
}
