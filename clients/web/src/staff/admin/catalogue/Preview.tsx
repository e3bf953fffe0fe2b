import { useState } from "preact/hooks";
import { translate, type Language } from "../../../i18n";
import {
  AttributeField,
  type AttributeValue,
} from "../../../screens/report/AttributeField";
import { useStaffI18n } from "../../i18n";
import { previewAttributes, type ServiceDraft } from "./draft";

// The live preview: the resident app's own AttributeField over the draft's attributes, in the
// markup of the report form, so it shows what residents will see.
export function Preview(props: { draft: ServiceDraft }) {
  const { t, lang } = useStaffI18n();
  const [previewLang, setPreviewLang] = useState<Language>(lang);
  const [values, setValues] = useState<Record<string, AttributeValue>>({});
  const d = props.draft;
  const attrs = previewAttributes(d, previewLang);
  const pick = (de: string, en: string) =>
    previewLang === "en" && en ? en : de;
  const name = pick(d.name_de, d.name_en) || d.service_code;
  const notice = pick(d.notice_de, d.notice_en);
  return (
    <aside
      class="admin-preview"
      aria-labelledby="admin-preview-title"
      data-testid="preview"
    >
      <h2 id="admin-preview-title">{t("admin.preview")}</h2>
      <p class="hint">{t("admin.previewHint")}</p>
      <fieldset class="admin-inline">
        <legend>{t("admin.previewLanguage")}</legend>
        {(["de", "en"] as const).map((l) => (
          <label key={l} class="admin-radio">
            <input
              type="radio"
              name="admin-preview-lang"
              checked={previewLang === l}
              onChange={() => setPreviewLang(l)}
            />{" "}
            {l === "de" ? t("admin.german") : t("admin.english")}
          </label>
        ))}
      </fieldset>
      <div class="admin-preview-phone" lang={previewLang}>
        <h3 class="group-name">{name}</h3>
        {notice ? <p class="hint">{notice}</p> : null}
        {attrs.length ? (
          <fieldset class="attributes">
            <legend>{translate(previewLang, "report.details")}</legend>
            {attrs.map((a, i) => (
              <AttributeField
                key={d.attributes[i]?.uid}
                attr={a}
                value={values[a.code ?? ""]}
                onChange={(v) => setValues({ ...values, [a.code ?? ""]: v })}
              />
            ))}
          </fieldset>
        ) : (
          <p class="muted">{t("admin.previewEmpty")}</p>
        )}
      </div>
    </aside>
  );
}
