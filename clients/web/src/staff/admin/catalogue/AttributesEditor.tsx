import { Checkbox, TextField, useId } from "../../../components/ui";
import { useStaffI18n, type StaffKey } from "../../i18n";
import {
  DATATYPES,
  emptyAttribute,
  isList,
  type AttributeDraft,
  type Datatype,
  type ValueDraft,
} from "./draft";

// The attribute definitions of a category: one fieldset per question, in the order residents
// see them, with move, remove and the choices of list questions.
export function AttributesEditor(props: {
  attributes: AttributeDraft[];
  onChange: (a: AttributeDraft[]) => void;
}) {
  const { t } = useStaffI18n();
  const list = props.attributes;
  const set = (i: number, a: AttributeDraft) =>
    props.onChange(list.map((x, j) => (j === i ? a : x)));
  const move = (i: number, by: number) => {
    const next = [...list];
    const [a] = next.splice(i, 1);
    next.splice(i + by, 0, a);
    props.onChange(next);
  };
  return (
    <fieldset class="admin-attributes">
      <legend>{t("admin.cat.attributes")}</legend>
      {list.length === 0 ? (
        <p class="muted">{t("admin.cat.noAttributes")}</p>
      ) : null}
      {list.map((a, i) => (
        <AttributeEditor
          key={a.uid}
          n={i + 1}
          attr={a}
          first={i === 0}
          last={i === list.length - 1}
          onChange={(x) => set(i, x)}
          onMove={(by) => move(i, by)}
          onRemove={() => props.onChange(list.filter((_, j) => j !== i))}
        />
      ))}
      <button
        type="button"
        class="button"
        onClick={() => props.onChange([...list, emptyAttribute()])}
      >
        {t("admin.attr.add")}
      </button>
    </fieldset>
  );
}

function AttributeEditor(props: {
  n: number;
  attr: AttributeDraft;
  first: boolean;
  last: boolean;
  onChange: (a: AttributeDraft) => void;
  onMove: (by: number) => void;
  onRemove: () => void;
}) {
  const { t } = useStaffI18n();
  const id = useId("attr-type");
  const a = props.attr;
  const n = props.n;
  const patch = (p: Partial<AttributeDraft>) => props.onChange({ ...a, ...p });
  return (
    <fieldset class="admin-attribute" data-testid={`attribute-${n}`}>
      <legend>{t("admin.attr.title", { n })}</legend>
      <div class="admin-grid">
        <TextField
          label={t("admin.attr.code")}
          required
          maxLength={64}
          pattern="[A-Za-z0-9_\-]+"
          value={a.code}
          onValue={(code) => patch({ code })}
        />
        <div class="field">
          <label for={id}>{t("admin.attr.datatype")}</label>
          <select
            id={id}
            value={a.datatype}
            onChange={(e) => {
              const datatype = e.currentTarget.value as Datatype;
              patch({
                datatype,
                values:
                  isList(datatype) && a.values.length === 0
                    ? [{ key: "", de: "", en: "" }]
                    : a.values,
              });
            }}
          >
            {DATATYPES.map((d) => (
              <option key={d} value={d}>
                {t(`admin.attr.type.${d}` as StaffKey)}
              </option>
            ))}
          </select>
        </div>
        <TextField
          label={t("admin.attr.textDe")}
          maxLength={500}
          value={a.de}
          onValue={(de) => patch({ de })}
        />
        <TextField
          label={t("admin.attr.textEn")}
          maxLength={500}
          value={a.en}
          onValue={(en) => patch({ en })}
        />
      </div>
      <Checkbox
        label={t("admin.attr.variable")}
        checked={a.variable}
        onChange={(variable) => patch({ variable })}
      />
      {a.variable ? (
        <Checkbox
          label={t("admin.attr.required")}
          checked={a.required}
          onChange={(required) => patch({ required })}
        />
      ) : null}
      {isList(a.datatype) ? (
        <ValuesEditor
          values={a.values}
          onChange={(values) => patch({ values })}
        />
      ) : null}
      <div class="admin-actions">
        <button
          type="button"
          class="button button--small"
          disabled={props.first}
          onClick={() => props.onMove(-1)}
        >
          {t("admin.attr.up", { n })}
        </button>
        <button
          type="button"
          class="button button--small"
          disabled={props.last}
          onClick={() => props.onMove(1)}
        >
          {t("admin.attr.down", { n })}
        </button>
        <button
          type="button"
          class="button button--small button--danger"
          onClick={props.onRemove}
        >
          {t("admin.attr.remove", { n })}
        </button>
      </div>
    </fieldset>
  );
}

function ValuesEditor(props: {
  values: ValueDraft[];
  onChange: (v: ValueDraft[]) => void;
}) {
  const { t } = useStaffI18n();
  const vs = props.values;
  const set = (i: number, p: Partial<ValueDraft>) =>
    props.onChange(vs.map((v, j) => (j === i ? { ...v, ...p } : v)));
  return (
    <fieldset class="admin-values">
      <legend>{t("admin.attr.values")}</legend>
      {vs.map((v, i) => (
        <div class="admin-value" key={i}>
          <TextField
            label={t("admin.attr.valueKey", { n: i + 1 })}
            required
            maxLength={64}
            value={v.key}
            onValue={(key) => set(i, { key })}
          />
          <TextField
            label={t("admin.attr.valueDe", { n: i + 1 })}
            required
            maxLength={100}
            value={v.de}
            onValue={(de) => set(i, { de })}
          />
          <TextField
            label={t("admin.attr.valueEn", { n: i + 1 })}
            maxLength={100}
            value={v.en}
            onValue={(en) => set(i, { en })}
          />
          <button
            type="button"
            class="button button--small"
            onClick={() => props.onChange(vs.filter((_, j) => j !== i))}
          >
            {t("admin.attr.removeValue", { n: i + 1 })}
          </button>
        </div>
      ))}
      <button
        type="button"
        class="button button--small"
        onClick={() => props.onChange([...vs, { key: "", de: "", en: "" }])}
      >
        {t("admin.attr.addValue")}
      </button>
    </fieldset>
  );
}
