import type { Webhook } from "@cityhub/sdk";
import { useState } from "preact/hooks";
import { Checkbox, Notice, TextField } from "../../../components/ui";
import { formatDate, useI18n } from "../../../i18n";
import { client, errorText, useLoad } from "../../../lib/api";
import { useStaffI18n } from "../../i18n";
import { splitList } from "../catalogue/draft";
import { useAction } from "../../useAction";
import { AdminPage, DeleteButton, ShownOnce } from "../ui";

const EVENTS = ["RequestCreated", "RequestStatusChanged", "CommentAdded"];

// Partner webhooks: create (the signing secret is shown once), list, delete.
export function Webhooks() {
  const { t } = useStaffI18n();
  const app = useI18n();
  const hooks = useLoad(() => client.admin.webhooks.list(), []);
  const [url, setUrl] = useState("");
  const [events, setEvents] = useState<string[]>([...EVENTS]);
  const [services, setServices] = useState("");
  const { busy, error, run, fail } = useAction();
  const [notice, setNotice] = useState("");
  const [created, setCreated] = useState<Webhook | null>(null);

  async function create(e: Event) {
    e.preventDefault();
    setNotice("");
    if (events.length === 0) {
      fail(t("admin.hooks.noEvent"));
      return;
    }
    await run(async () => {
      setCreated(
        await client.admin.webhooks.create({
          url: url.trim(),
          event_types: events,
          service_codes: splitList(services),
        }),
      );
      setUrl("");
      setServices("");
      hooks.reload();
    });
  }

  async function remove(id: string, label: string) {
    await run(async () => {
      await client.admin.webhooks.delete(id);
      if (created?.webhook_id === id) setCreated(null);
      setNotice(t("admin.deleted", { name: label }));
      hooks.reload();
    });
  }

  return (
    <AdminPage title={t("admin.webhooks")}>
      <p class="hint">{t("admin.hooks.hint")}</p>
      <form
        class="form admin-card"
        onSubmit={create}
        aria-labelledby="admin-hook-new"
        noValidate
      >
        <h2 id="admin-hook-new">{t("admin.hooks.new")}</h2>
        <TextField
          label={t("admin.hooks.url")}
          hint={t("admin.hooks.urlHint")}
          type="url"
          required
          maxLength={2048}
          value={url}
          onValue={setUrl}
        />
        <fieldset>
          <legend>{t("admin.hooks.events")}</legend>
          {EVENTS.map((ev) => (
            <Checkbox
              key={ev}
              label={ev}
              checked={events.includes(ev)}
              onChange={(on) =>
                setEvents(on ? [...events, ev] : events.filter((x) => x !== ev))
              }
            />
          ))}
        </fieldset>
        <TextField
          label={t("admin.hooks.services")}
          hint={t("admin.hooks.servicesHint")}
          value={services}
          onValue={setServices}
        />
        <button type="submit" class="button button--primary" disabled={busy}>
          {t("admin.hooks.create")}
        </button>
      </form>
      {created ? (
        <div class="admin-card">
          <Notice kind="ok">
            {t("admin.hooks.createdNotice", { url: created.url })}
          </Notice>
          {created.secret ? (
            <ShownOnce label={t("admin.hooks.secret")} value={created.secret} />
          ) : null}
        </div>
      ) : null}
      {error ? <Notice kind="error">{error}</Notice> : null}
      {notice ? <Notice kind="ok">{notice}</Notice> : null}
      <h2>{t("admin.hooks.list")}</h2>
      {hooks.error ? <p role="alert">{errorText(hooks.error, app.t)}</p> : null}
      {hooks.data && hooks.data.length === 0 ? (
        <p class="muted">{t("admin.none")}</p>
      ) : null}
      {hooks.data?.length ? (
        <table class="admin-table">
          <thead>
            <tr>
              <th scope="col">{t("admin.hooks.url")}</th>
              <th scope="col">{t("admin.hooks.events")}</th>
              <th scope="col">{t("admin.hooks.services")}</th>
              <th scope="col">{t("admin.created")}</th>
              <th scope="col">
                <span class="visually-hidden">{t("admin.delete")}</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {hooks.data.map((w) => (
              <tr key={w.webhook_id}>
                <th scope="row">
                  <code>{w.url}</code>
                </th>
                <td>{(w.event_types ?? []).join(", ")}</td>
                <td>
                  {(w.service_codes ?? []).join(", ") || t("admin.hooks.all")}
                </td>
                <td>{formatDate(app.lang, w.created_at)}</td>
                <td>
                  <DeleteButton
                    name={w.url}
                    onDelete={() => remove(w.webhook_id, w.url)}
                  />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </AdminPage>
  );
}
