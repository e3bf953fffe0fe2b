import { useState } from "preact/hooks";
import { useI18n } from "../../i18n";
import type { Service } from "../../lib/types";
import { TextField } from "../../components/ui";

/** The categories as radio buttons grouped like the catalogue, with a search box. */
export function CategoryPicker(props: {
  services: Service[];
  value: string;
  onChange: (code: string) => void;
}) {
  const { t } = useI18n();
  const [q, setQ] = useState("");
  const needle = q.trim().toLowerCase();
  const shown = props.services.filter(
    (s) =>
      !needle ||
      [s.name, s.description, s.group, ...(s.keywords ?? [])].some((x) =>
        (x ?? "").toLowerCase().includes(needle),
      ),
  );
  const groups = new Map<string, Service[]>();
  for (const s of shown) {
    const g = s.group ?? "";
    groups.set(g, [...(groups.get(g) ?? []), s]);
  }
  return (
    <fieldset class="categories">
      <legend>
        {t("report.category")}{" "}
        <span class="req">{t("report.requiredMark")}</span>
      </legend>
      {props.services.length > 6 ? (
        <TextField
          label={t("report.categorySearch")}
          type="search"
          value={q}
          onValue={setQ}
        />
      ) : null}
      {[...groups.entries()].map(([group, list]) => (
        <div class="category-group" key={group}>
          {group ? <p class="group-name">{group}</p> : null}
          {list.map((s) => (
            <label class="choice" key={s.service_code}>
              <input
                type="radio"
                name="service_code"
                value={s.service_code}
                checked={props.value === s.service_code}
                onChange={() => props.onChange(s.service_code ?? "")}
              />
              <span>
                <span class="choice-title">{s.name}</span>
                {s.description ? (
                  <span class="choice-text">{s.description}</span>
                ) : null}
              </span>
            </label>
          ))}
        </div>
      ))}
    </fieldset>
  );
}
