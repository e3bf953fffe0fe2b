import { useState } from "preact/hooks";
import { useStaffI18n } from "../i18n";
import { templateText, useTemplates } from "./data";

// Picks a response template and inserts its text (in the console's language) into a note.
export function TemplatePicker(props: {
  department?: string;
  onInsert: (text: string) => void;
}) {
  const { t, lang } = useStaffI18n();
  const all = useTemplates();
  const list = props.department
    ? all.filter((x) => x.department === props.department)
    : all;
  const [id, setId] = useState("");
  if (!list.length) return null;
  const chosen = list.find((x) => x.template_id === id);
  return (
    <div class="staff-template">
      <label>
        {t("work.template")}
        <select value={id} onChange={(e) => setId(e.currentTarget.value)}>
          <option value="">{t("work.templateNone")}</option>
          {list.map((x) => (
            <option key={x.template_id} value={x.template_id}>
              {x.title}
            </option>
          ))}
        </select>
      </label>
      <button
        type="button"
        class="button button--secondary"
        disabled={!chosen}
        onClick={() => chosen && props.onInsert(templateText(chosen, lang))}
      >
        {t("work.templateInsert")}
      </button>
    </div>
  );
}
