import type { Account } from "@cityhub/sdk";
import { useState } from "preact/hooks";
import { Checkbox, Notice, TextField } from "../../../components/ui";
import { formatDate, useI18n } from "../../../i18n";
import { client, errorText, useLoad } from "../../../lib/api";
import { useStaffI18n } from "../../i18n";
import { AdminPage } from "../ui";
import { splitList } from "../catalogue/draft";

// Accounts: find one by e-mail, show and set its roles and departments.
export function Accounts() {
  const { t } = useStaffI18n();
  const app = useI18n();
  const [email, setEmail] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState("");
  const [result, setResult] = useState<{
    email: string;
    account: Account | null;
  } | null>(null);

  async function find(e: Event) {
    e.preventDefault();
    const q = email.trim();
    if (!q) return;
    setBusy(true);
    setError("");
    try {
      setResult({
        email: q,
        account: await client.admin.accounts.findByEmail(q),
      });
    } catch (err) {
      setResult(null);
      setError(errorText(err, app.t));
    } finally {
      setBusy(false);
    }
  }

  return (
    <AdminPage title={t("admin.accounts")}>
      <form class="form admin-search" onSubmit={find} role="search">
        <TextField
          label={t("admin.acc.email")}
          type="email"
          autoComplete="off"
          maxLength={254}
          value={email}
          onValue={setEmail}
        />
        <button type="submit" class="button button--primary" disabled={busy}>
          {t("admin.acc.search")}
        </button>
      </form>
      {error ? <Notice kind="error">{error}</Notice> : null}
      {result && !result.account ? (
        <Notice>{t("admin.acc.notFound", { email: result.email })}</Notice>
      ) : null}
      {result?.account ? (
        <RolesEditor
          key={result.account.account_id}
          account={result.account}
          onSaved={(account) => setResult({ ...result, account })}
        />
      ) : null}
    </AdminPage>
  );
}

function RolesEditor(props: {
  account: Account;
  onSaved: (a: Account) => void;
}) {
  const { t } = useStaffI18n();
  const app = useI18n();
  const a = props.account;
  const [roles, setRoles] = useState<string[]>(a.roles ?? []);
  const [departments, setDepartments] = useState(
    (a.departments ?? []).join(", "),
  );
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState("");
  const [saved, setSaved] = useState(false);
  // the departments the catalogue names, as a hint of what exists
  const known = useLoad(() => client.admin.services.list(), []);
  const knownDepartments = [
    ...new Set((known.data ?? []).map((s) => s.department).filter(Boolean)),
  ].sort();

  async function save(e: Event) {
    e.preventDefault();
    setBusy(true);
    setError("");
    setSaved(false);
    try {
      const updated = await client.admin.accounts.setRoles(a.account_id, {
        roles: roles.includes("citizen") ? roles : ["citizen", ...roles],
        departments: splitList(departments),
      });
      setSaved(true);
      props.onSaved(updated);
    } catch (err) {
      setError(errorText(err, app.t));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form
      class="form admin-card"
      onSubmit={save}
      aria-labelledby="admin-account-title"
      data-testid="account"
    >
      <h2 id="admin-account-title">{a.display_name || a.email}</h2>
      <dl class="facts">
        <div>
          <dt>{t("admin.acc.email")}</dt>
          <dd>
            {a.email} (
            {a.email_verified
              ? t("admin.acc.verified")
              : t("admin.acc.unverified")}
            )
          </dd>
        </div>
        <div>
          <dt>{t("admin.created")}</dt>
          <dd>{formatDate(app.lang, a.created_at)}</dd>
        </div>
      </dl>
      <fieldset>
        <legend>{t("admin.acc.roles")}</legend>
        <p class="small">{t("admin.acc.role.citizen")}</p>
        {(["operator", "admin"] as const).map((r) => (
          <Checkbox
            key={r}
            label={t(`admin.acc.role.${r}`)}
            checked={roles.includes(r)}
            onChange={(on) => {
              setSaved(false);
              setRoles(on ? [...roles, r] : roles.filter((x) => x !== r));
            }}
          />
        ))}
      </fieldset>
      <TextField
        label={t("admin.acc.departments")}
        hint={t("admin.acc.departmentsHint", {
          known: knownDepartments.join(", ") || "–",
        })}
        value={departments}
        onValue={(v) => {
          setSaved(false);
          setDepartments(v);
        }}
      />
      {error ? <Notice kind="error">{error}</Notice> : null}
      {saved ? <Notice kind="ok">{t("admin.acc.rolesSaved")}</Notice> : null}
      <button type="submit" class="button button--primary" disabled={busy}>
        {busy ? t("admin.saving") : t("admin.acc.saveRoles")}
      </button>
    </form>
  );
}
