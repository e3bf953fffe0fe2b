import type { RoutingRule } from "@cityhub/sdk";
import { useEffect, useState } from "preact/hooks";
import { Notice } from "../../../components/ui";
import { useI18n } from "../../../i18n";
import { client, errorStatus, errorText, useLoad } from "../../../lib/api";
import { useStaffI18n } from "../../i18n";
import { AdminPage } from "../ui";

const MAX_RULES = 1000;

// Routing rules (GET/PUT /v1/routingRules, a bare array): which department gets a category's
// reports in a district (a table editor). An empty category code or district means "any".
export function Routing() {
  const { t } = useStaffI18n();
  const app = useI18n();
  const loaded = useLoad(() => client.admin.geography.routingRules(), []);
  const services = useLoad(() => client.services.list(app.lang), [app.lang]);
  const districts = useLoad(() => client.admin.geography.districts(), []);
  const [rules, setRules] = useState<RoutingRule[]>([]);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState("");
  const [saved, setSaved] = useState(false);
  useEffect(() => {
    if (Array.isArray(loaded.data))
      setRules(
        loaded.data.map((r) => ({
          service_code: r.service_code ?? "",
          district: r.district ?? "",
          department: r.department ?? "",
        })),
      );
  }, [loaded.data]);

  const set = (i: number, p: Partial<RoutingRule>) => {
    setSaved(false);
    setRules(rules.map((r, j) => (j === i ? { ...r, ...p } : r)));
  };

  async function save(e: Event) {
    e.preventDefault();
    setBusy(true);
    setError("");
    setSaved(false);
    try {
      const body = rules.map((r) => ({
        service_code: r.service_code.trim(),
        district: r.district.trim(),
        department: r.department.trim(),
      }));
      const answer = await client.admin.geography.setRoutingRules(body);
      if (Array.isArray(answer)) setRules(answer);
      setSaved(true);
    } catch (err) {
      setError(errorText(err, app.t));
    } finally {
      setBusy(false);
    }
  }

  if (errorStatus(loaded.error) === 404) {
    return (
      <AdminPage title={t("admin.routing")}>
        <Notice>{t("admin.routing.unavailable")}</Notice>
      </AdminPage>
    );
  }
  return (
    <AdminPage title={t("admin.routing")}>
      <p class="hint">{t("admin.routing.hint")}</p>
      {loaded.loading ? <p role="status">{app.t("app.loading")}</p> : null}
      {loaded.error ? (
        <Notice kind="error">{errorText(loaded.error, app.t)}</Notice>
      ) : null}
      <datalist id="admin-routing-codes">
        {(services.data ?? []).map((s) => (
          <option key={s.service_code} value={s.service_code}>
            {s.name}
          </option>
        ))}
      </datalist>
      <datalist id="admin-routing-districts">
        {(districts.data?.features ?? []).map((f) => (
          <option
            key={f.properties.district_id}
            value={f.properties.district_id}
          >
            {app.lang === "de" ? f.properties.name_de : f.properties.name_en}
          </option>
        ))}
      </datalist>
      <form onSubmit={save} noValidate>
        <table class="admin-table">
          <caption class="visually-hidden">{t("admin.routing")}</caption>
          <thead>
            <tr>
              <th scope="col">#</th>
              <th scope="col">{t("admin.routing.service")}</th>
              <th scope="col">{t("admin.routing.district")}</th>
              <th scope="col">{t("admin.routing.department")}</th>
              <th scope="col">
                <span class="visually-hidden">{t("admin.routing.remove")}</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {rules.map((r, i) => (
              <tr key={i}>
                <th scope="row">{i + 1}</th>
                <td>
                  <input
                    list="admin-routing-codes"
                    aria-label={`${t("admin.routing.service")} ${i + 1}`}
                    maxLength={64}
                    value={r.service_code}
                    onInput={(e) =>
                      set(i, { service_code: e.currentTarget.value })
                    }
                  />
                </td>
                <td>
                  <input
                    list="admin-routing-districts"
                    aria-label={`${t("admin.routing.district")} ${i + 1}`}
                    maxLength={64}
                    value={r.district}
                    onInput={(e) => set(i, { district: e.currentTarget.value })}
                  />
                </td>
                <td>
                  <input
                    aria-label={`${t("admin.routing.department")} ${i + 1}`}
                    required
                    maxLength={64}
                    value={r.department}
                    onInput={(e) =>
                      set(i, { department: e.currentTarget.value })
                    }
                  />
                </td>
                <td>
                  <button
                    type="button"
                    class="button button--small"
                    onClick={() => {
                      setSaved(false);
                      setRules(rules.filter((_, j) => j !== i));
                    }}
                  >
                    {t("admin.routing.removeN", { n: i + 1 })}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {rules.length === 0 && !loaded.loading ? (
          <p class="muted">{t("admin.none")}</p>
        ) : null}
        <div class="admin-actions">
          <button
            type="button"
            class="button"
            disabled={rules.length >= MAX_RULES}
            onClick={() =>
              setRules([
                ...rules,
                { service_code: "", district: "", department: "" },
              ])
            }
          >
            {t("admin.routing.add")}
          </button>
          <button type="submit" class="button button--primary" disabled={busy}>
            {busy ? t("admin.saving") : t("admin.save")}
          </button>
        </div>
        {error ? <Notice kind="error">{error}</Notice> : null}
        {saved ? <Notice kind="ok">{t("admin.saved")}</Notice> : null}
      </form>
    </AdminPage>
  );
}
