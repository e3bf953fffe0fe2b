import { useI18n } from "../../../i18n";
import { client, errorText, useLoad } from "../../../lib/api";
import { useLocation, type Params } from "../../../lib/router";
import type { Service } from "../../../lib/types";
import { useStaffI18n } from "../../i18n";
import { AdminPage } from "../ui";
import { CATALOGUE, draftFrom, emptyDraft } from "./draft";
import { ServiceEditor } from "./ServiceEditor";

// The catalogue editor: every category (inactive ones too) beside the form of the chosen one,
// or of a new one, with a live preview of the resident's form.
export function Catalogue(props: { params: Params }) {
  const { t } = useStaffI18n();
  const app = useI18n();
  const list = useLoad(() => client.admin.services.list(app.lang), [app.lang]);
  const services = list.data ?? [];
  const code = props.params.code;
  const path = useLocation().path;
  const creating = !code && path === `${CATALOGUE}/new`;
  const current = code
    ? services.find((s) => s.service_code === code)
    : undefined;

  let editor = null;
  if (creating) {
    editor = (
      <ServiceEditor initial={emptyDraft()} isNew onSaved={list.reload} />
    );
  } else if (code && current) {
    editor = (
      <ServiceEditor
        initial={draftFrom(current)}
        isNew={false}
        onSaved={list.reload}
      />
    );
  } else if (code && !list.loading && !list.error) {
    editor = <p role="alert">{app.t("app.notFound")}</p>;
  }

  return (
    <AdminPage title={t("admin.catalogue")} wide>
      {list.error ? <p role="alert">{errorText(list.error, app.t)}</p> : null}
      <div class="admin-catalogue">
        <nav aria-label={t("admin.cat.list")} class="admin-list">
          <a href={`${CATALOGUE}/new`} class="button button--primary">
            {t("admin.cat.new")}
          </a>
          {list.loading && !list.data ? (
            <p role="status">{app.t("app.loading")}</p>
          ) : null}
          <ul>
            {services.map((s) => (
              <ServiceLink key={s.service_code} s={s} current={code} />
            ))}
          </ul>
        </nav>
        {editor}
      </div>
    </AdminPage>
  );
}

function ServiceLink(props: { s: Service; current: string | undefined }) {
  const { t } = useStaffI18n();
  const s = props.s;
  return (
    <li>
      <a
        href={`${CATALOGUE}/edit/${encodeURIComponent(s.service_code ?? "")}`}
        aria-current={s.service_code === props.current ? "page" : undefined}
      >
        {s.name || s.service_code} <code>{s.service_code}</code>
        {s.active ? null : (
          <span class="muted"> ({t("admin.cat.inactive")})</span>
        )}
      </a>
    </li>
  );
}
