import { useI18n } from "../../i18n";
import type { Service } from "../../lib/types";
import { useStaffI18n, type StaffKey } from "../i18n";
import { AGES, SORTS, STATUSES, type QueueState, type Status } from "./filters";

// The queue's filter bar: every control labelled, changes go straight to the URL.
export function QueueFilterBar(props: {
  state: QueueState;
  departments: string[];
  services: Service[];
  admin: boolean;
  district: boolean;
  onChange: (s: QueueState) => void;
}) {
  const { t } = useStaffI18n();
  const app = useI18n();
  const { state: s, onChange } = props;
  const set = (patch: Partial<QueueState>) => onChange({ ...s, ...patch });
  const toggle = (st: Status) =>
    set({
      status: s.status.includes(st)
        ? s.status.filter((x) => x !== st)
        : STATUSES.filter((x) => x === st || s.status.includes(x)),
    });
  const categories = props.services.filter(
    (c) => !s.dept || c.department === s.dept,
  );
  return (
    <form
      class="staff-filters"
      aria-label={t("work.filters")}
      onSubmit={(e) => e.preventDefault()}
    >
      <label>
        {t("work.department")}
        <select
          value={s.dept}
          onChange={(e) => set({ dept: e.currentTarget.value, category: "" })}
        >
          {props.admin ? (
            <option value="">{t("work.allDepartments")}</option>
          ) : null}
          {props.departments.map((d) => (
            <option key={d} value={d}>
              {d}
            </option>
          ))}
        </select>
      </label>
      <label>
        {t("work.category")}
        <select
          value={s.category}
          onChange={(e) => set({ category: e.currentTarget.value })}
        >
          <option value="">{t("work.allCategories")}</option>
          {categories.map((c) => (
            <option key={c.service_code} value={c.service_code}>
              {c.name || c.service_code}
            </option>
          ))}
        </select>
      </label>
      {props.district ? (
        <label>
          {t("work.district")}
          <input
            value={s.district}
            maxLength={64}
            pattern="[A-Za-z0-9_.\-]{1,64}"
            onChange={(e) => set({ district: e.currentTarget.value.trim() })}
          />
        </label>
      ) : null}
      <label>
        {t("work.age")}
        <select
          value={s.age}
          onChange={(e) =>
            set({ age: e.currentTarget.value as QueueState["age"] })
          }
        >
          {AGES.map((a) => (
            <option key={a} value={a}>
              {t(`work.age.${a || "any"}` as StaffKey)}
            </option>
          ))}
        </select>
      </label>
      <label>
        {t("work.sort")}
        <select
          value={s.sort}
          onChange={(e) =>
            set({ sort: e.currentTarget.value as QueueState["sort"] })
          }
        >
          {SORTS.map((x) => (
            <option key={x} value={x}>
              {t(`work.sort.${x}` as StaffKey)}
            </option>
          ))}
        </select>
      </label>
      <label class="staff-check">
        <input
          type="checkbox"
          checked={s.mine}
          onChange={(e) => set({ mine: e.currentTarget.checked })}
        />
        {t("work.mine")}
      </label>
      <label class="staff-check">
        <input
          type="checkbox"
          checked={s.overdue}
          onChange={(e) => set({ overdue: e.currentTarget.checked })}
        />
        {t("work.overdue")}
      </label>
      <fieldset class="staff-statuses">
        <legend>{t("work.status")}</legend>
        {STATUSES.map((st) => (
          <label key={st} class="staff-check">
            <input
              type="checkbox"
              checked={s.status.includes(st)}
              onChange={() => toggle(st)}
            />
            {app.t(`status.${st}`)}
          </label>
        ))}
      </fieldset>
    </form>
  );
}
