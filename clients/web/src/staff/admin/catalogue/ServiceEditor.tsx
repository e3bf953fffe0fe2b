import { SERVICE_EDITABLE_FIELDS } from "@cityhub/sdk";
import { useState } from "preact/hooks";
import { Checkbox, Notice, TextArea, TextField } from "../../../components/ui";
import { useI18n } from "../../../i18n";
import { client, errorText } from "../../../lib/api";
import { navigate } from "../../../lib/router";
import { createStore } from "../../../lib/store";
import { useStaffI18n } from "../../i18n";
import { AttributesEditor } from "./AttributesEditor";
import { CATALOGUE, serviceInput, type ServiceDraft } from "./draft";
import { Preview } from "./Preview";

// A message that survives the move from /new to the new category's page.
const flash = createStore<string>("");

export function ServiceEditor(props: {
  initial: ServiceDraft;
  isNew: boolean;
  onSaved: () => void;
}) {
  const { t } = useStaffI18n();
  const app = useI18n();
  const [d, setD] = useState<ServiceDraft>(props.initial);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState("");
  const [saved, setSaved] = useState(() => {
    const f = flash.get();
    flash.set("");
    return f;
  });
  const field =
    <K extends keyof ServiceDraft>(k: K) =>
    (v: ServiceDraft[K]) => {
      setSaved("");
      setD((cur) => ({ ...cur, [k]: v }));
    };

  async function save(e: Event) {
    e.preventDefault();
    setBusy(true);
    setError("");
    setSaved("");
    try {
      const body = serviceInput(d);
      if (props.isNew) {
        const s = await client.admin.services.create(body);
        flash.set(t("admin.cat.created", { code: s.service_code ?? "" }));
        navigate(
          `${CATALOGUE}/edit/${encodeURIComponent(s.service_code ?? "")}`,
        );
      } else {
        const { service_code, ...patch } = body;
        await client.admin.services.update(
          service_code ?? d.service_code,
          patch,
          SERVICE_EDITABLE_FIELDS,
        );
        setSaved(t("admin.cat.saved", { code: d.service_code }));
        props.onSaved();
      }
    } catch (err) {
      setError(errorText(err, app.t));
    } finally {
      setBusy(false);
    }
  }

  const title = props.isNew
    ? t("admin.cat.creating")
    : t("admin.cat.editing", { code: d.service_code });
  return (
    <>
      <form
        class="form admin-editor"
        onSubmit={save}
        noValidate
        aria-labelledby="admin-editor-title"
      >
        <h2 id="admin-editor-title">{title}</h2>
        {props.isNew ? (
          <TextField
            label={t("admin.cat.code")}
            hint={t("admin.cat.codeHint")}
            required
            maxLength={64}
            value={d.service_code}
            onValue={field("service_code")}
          />
        ) : null}
        <fieldset>
          <legend>{t("admin.cat.texts")}</legend>
          <div class="admin-grid">
            <TextField
              label={t("admin.cat.nameDe")}
              required
              maxLength={100}
              value={d.name_de}
              onValue={field("name_de")}
            />
            <TextField
              label={t("admin.cat.nameEn")}
              maxLength={100}
              value={d.name_en}
              onValue={field("name_en")}
            />
            <TextArea
              label={t("admin.cat.descriptionDe")}
              maxLength={1000}
              value={d.description_de}
              onValue={field("description_de")}
            />
            <TextArea
              label={t("admin.cat.descriptionEn")}
              maxLength={1000}
              value={d.description_en}
              onValue={field("description_en")}
            />
            <TextArea
              label={t("admin.cat.noticeDe")}
              maxLength={500}
              value={d.notice_de}
              onValue={field("notice_de")}
            />
            <TextArea
              label={t("admin.cat.noticeEn")}
              maxLength={500}
              value={d.notice_en}
              onValue={field("notice_en")}
            />
          </div>
        </fieldset>
        <fieldset>
          <legend>{t("admin.cat.settings")}</legend>
          <div class="admin-grid">
            <TextField
              label={t("admin.cat.group")}
              maxLength={100}
              value={d.group}
              onValue={field("group")}
            />
            <TextField
              label={t("admin.cat.keywords")}
              hint={t("admin.cat.keywordsHint")}
              value={d.keywords}
              onValue={field("keywords")}
            />
            <TextField
              label={t("admin.cat.department")}
              hint={t("admin.cat.departmentHint")}
              required
              maxLength={64}
              value={d.department}
              onValue={field("department")}
            />
            <TextField
              label={t("admin.cat.sla")}
              hint={t("admin.cat.slaHint")}
              required
              inputMode="numeric"
              pattern="[0-9]*"
              value={d.sla_hours}
              onValue={field("sla_hours")}
            />
          </div>
          <Checkbox
            label={t("admin.cat.detailsPublic")}
            checked={d.details_public}
            onChange={field("details_public")}
          />
          <Checkbox
            label={t("admin.cat.active")}
            checked={d.active}
            onChange={field("active")}
          />
        </fieldset>
        <AttributesEditor
          attributes={d.attributes}
          onChange={field("attributes")}
        />
        {error ? <Notice kind="error">{error}</Notice> : null}
        {saved ? <Notice kind="ok">{saved}</Notice> : null}
        <button type="submit" class="button button--primary" disabled={busy}>
          {busy ? t("admin.saving") : t("admin.save")}
        </button>
      </form>
      <Preview draft={d} />
    </>
  );
}
