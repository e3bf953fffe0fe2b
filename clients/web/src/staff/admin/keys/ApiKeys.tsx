import type { CreatedApiKey } from "@cityhub/sdk";
import { useState } from "preact/hooks";
import { Notice, TextField } from "../../../components/ui";
import { formatDate, useI18n } from "../../../i18n";
import { client, errorText, useLoad } from "../../../lib/api";
import { useStaffI18n } from "../../i18n";
import { useAction } from "../../useAction";
import { AdminPage, DeleteButton, ShownOnce } from "../ui";

// Partner API keys for Open311: create (the key is shown once), list, delete.
export function ApiKeys() {
  const { t } = useStaffI18n();
  const app = useI18n();
  const keys = useLoad(() => client.admin.apiKeys.list(), []);
  const [name, setName] = useState("");
  const { busy, error, run } = useAction();
  const [notice, setNotice] = useState("");
  const [created, setCreated] = useState<CreatedApiKey | null>(null);

  async function create(e: Event) {
    e.preventDefault();
    setNotice("");
    await run(async () => {
      setCreated(await client.admin.apiKeys.create(name.trim()));
      setName("");
      keys.reload();
    });
  }

  async function remove(id: string, label: string) {
    await run(async () => {
      await client.admin.apiKeys.delete(id);
      if (created?.api_key_id === id) setCreated(null);
      setNotice(t("admin.deleted", { name: label }));
      keys.reload();
    });
  }

  return (
    <AdminPage title={t("admin.keys")}>
      <p class="hint">{t("admin.keys.hint")}</p>
      <form
        class="form admin-card"
        onSubmit={create}
        aria-labelledby="admin-key-new"
      >
        <h2 id="admin-key-new">{t("admin.keys.new")}</h2>
        <TextField
          label={t("admin.keys.name")}
          required
          maxLength={100}
          value={name}
          onValue={setName}
        />
        <button type="submit" class="button button--primary" disabled={busy}>
          {t("admin.keys.create")}
        </button>
      </form>
      {created ? (
        <div class="admin-card">
          <Notice kind="ok">
            {t("admin.keys.createdNotice", { name: created.name })}
          </Notice>
          <ShownOnce label={t("admin.keys.secret")} value={created.api_key} />
        </div>
      ) : null}
      {error ? <Notice kind="error">{error}</Notice> : null}
      {notice ? <Notice kind="ok">{notice}</Notice> : null}
      <h2>{t("admin.keys.list")}</h2>
      {keys.error ? <p role="alert">{errorText(keys.error, app.t)}</p> : null}
      {keys.data && keys.data.length === 0 ? (
        <p class="muted">{t("admin.none")}</p>
      ) : null}
      {keys.data?.length ? (
        <table class="admin-table">
          <thead>
            <tr>
              <th scope="col">{t("admin.keys.name")}</th>
              <th scope="col">{t("admin.created")}</th>
              <th scope="col">
                <span class="visually-hidden">{t("admin.delete")}</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {keys.data.map((k) => (
              <tr key={k.api_key_id}>
                <th scope="row">{k.name}</th>
                <td>{formatDate(app.lang, k.created_at)}</td>
                <td>
                  <DeleteButton
                    name={k.name}
                    onDelete={() => remove(k.api_key_id, k.name)}
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
