import { useI18n } from "../../i18n";
import type { ServiceAttribute } from "../../lib/types";
import { TextArea, TextField, useId } from "../../components/ui";

export type AttributeValue = string | string[];

/** One answer field generated from a category's attribute definition (Open311 datatypes). */
export function AttributeField(props: {
  attr: ServiceAttribute;
  value: AttributeValue | undefined;
  error?: string;
  onChange: (v: AttributeValue) => void;
}) {
  const { t } = useI18n();
  const id = useId("attr");
  const a = props.attr;
  const label = a.description || a.code || "";
  const required = !!a.required;
  const str = typeof props.value === "string" ? props.value : "";
  const list = Array.isArray(props.value) ? props.value : [];

  if (a.variable === false) {
    return <p class="attr-info">{label}</p>;
  }
  switch (a.datatype) {
    case "number":
      return (
        <TextField
          label={label}
          required={required}
          error={props.error}
          type="text"
          inputMode="decimal"
          pattern="-?[0-9]*([.,][0-9]+)?"
          value={str}
          onValue={props.onChange}
        />
      );
    case "datetime":
      return (
        <TextField
          label={label}
          required={required}
          error={props.error}
          type="datetime-local"
          value={str}
          onValue={props.onChange}
        />
      );
    case "text":
      return (
        <TextArea
          label={label}
          required={required}
          error={props.error}
          maxLength={4000}
          value={str}
          onValue={props.onChange}
        />
      );
    case "singlevaluelist":
    case "multivaluelist": {
      const multi = a.datatype === "multivaluelist";
      return (
        <fieldset
          class={"choices" + (props.error ? " field--error" : "")}
          aria-describedby={props.error ? `${id}-err` : undefined}
        >
          <legend>
            {label}
            {required ? (
              <span class="req"> {t("report.requiredMark")}</span>
            ) : null}
          </legend>
          {(a.values ?? []).map((v) => (
            <label class="choice" key={v.key}>
              <input
                type={multi ? "checkbox" : "radio"}
                name={`attr-${a.code}`}
                value={v.key}
                checked={multi ? list.includes(v.key ?? "") : str === v.key}
                onChange={(e) => {
                  const key = v.key ?? "";
                  if (!multi) props.onChange(key);
                  else if (e.currentTarget.checked)
                    props.onChange([...list, key]);
                  else props.onChange(list.filter((x) => x !== key));
                }}
              />
              <span class="choice-title">{v.name || v.key}</span>
            </label>
          ))}
          {props.error ? (
            <p class="error-text" id={`${id}-err`}>
              {props.error}
            </p>
          ) : null}
        </fieldset>
      );
    }
    default:
      return (
        <TextField
          label={label}
          required={required}
          error={props.error}
          maxLength={200}
          value={str}
          onValue={props.onChange}
        />
      );
  }
}

/** The answers as the API takes them; null when a required answer is missing or one is invalid. */
export function attributeAnswers(
  attrs: ServiceAttribute[],
  values: Record<string, AttributeValue>,
  t: (k: "report.missingAnswer" | "report.invalidNumber") => string,
): { answers: Record<string, unknown>; errors: Record<string, string> } {
  const answers: Record<string, unknown> = {};
  const errors: Record<string, string> = {};
  for (const a of attrs) {
    if (a.variable === false || !a.code) continue;
    const v = values[a.code];
    const empty =
      v === undefined || (Array.isArray(v) ? v.length === 0 : v.trim() === "");
    if (empty) {
      if (a.required) errors[a.code] = t("report.missingAnswer");
      continue;
    }
    if (a.datatype === "number") {
      const n = Number(String(v).replace(",", "."));
      if (!Number.isFinite(n)) errors[a.code] = t("report.invalidNumber");
      else answers[a.code] = n;
    } else if (a.datatype === "datetime") {
      const d = new Date(String(v));
      if (Number.isNaN(d.getTime())) errors[a.code] = t("report.missingAnswer");
      else answers[a.code] = d.toISOString().replace(/\.\d{3}Z$/, "Z");
    } else {
      answers[a.code] = v;
    }
  }
  return { answers, errors };
}
