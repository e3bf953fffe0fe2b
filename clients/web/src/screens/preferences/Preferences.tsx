import { useEffect, useState } from "preact/hooks";
import { useI18n, type MessageKey } from "../../i18n";
import { client, errorText, useAccount } from "../../lib/api";
import type { NotificationPreferences } from "../../lib/types";
import {
  Checkbox,
  Loading,
  Notice,
  Page,
  TextField,
  useId,
} from "../../components/ui";

type Channel = "inbox" | "push" | "email";
type Kind = "own_requests" | "followed_requests" | "department_requests";
type Quiet = NonNullable<NotificationPreferences["push_quiet_hours"]>;
/** The form's working copy: every switch optional until saved. */
interface Draft {
  inbox?: Partial<Record<Kind, boolean>>;
  push?: Partial<Record<Kind, boolean>>;
  email?: Partial<Record<Kind, boolean>>;
  push_quiet_hours?: {
    enabled?: boolean;
    start?: string;
    end?: string;
    time_zone?: string;
  };
}

function channel(d: Draft, c: Channel) {
  return {
    own_requests: !!d[c]?.own_requests,
    followed_requests: !!d[c]?.followed_requests,
    department_requests: !!d[c]?.department_requests,
  };
}

function complete(d: Draft): NotificationPreferences {
  const q = d.push_quiet_hours ?? {};
  return {
    inbox: channel(d, "inbox"),
    push: channel(d, "push"),
    email: channel(d, "email"),
    push_quiet_hours: {
      enabled: !!q.enabled,
      start: q.start || "22:00",
      end: q.end || "07:00",
      time_zone: (q.time_zone || "Europe/Berlin") as Quiet["time_zone"],
    },
  };
}

const channels: [Channel, MessageKey][] = [
  ["inbox", "prefs.channelInbox"],
  ["push", "prefs.channelPush"],
  ["email", "prefs.channelEmail"],
];
const ZONES = [
  "Europe/Berlin",
  "Europe/Vienna",
  "Europe/Zurich",
  "Europe/Paris",
  "Europe/Amsterdam",
  "Europe/Brussels",
  "Europe/Luxembourg",
  "Europe/Copenhagen",
  "Europe/Warsaw",
  "Europe/Prague",
  "Europe/Rome",
  "Europe/Madrid",
  "Europe/London",
  "Europe/Dublin",
  "Europe/Lisbon",
  "Europe/Athens",
  "Europe/Helsinki",
  "Europe/Istanbul",
  "UTC",
];

export function Preferences() {
  const { t } = useI18n();
  const me = useAccount();
  const [prefs, setPrefs] = useState<Draft | null>(null);
  const [error, setError] = useState("");
  const [saved, setSaved] = useState(false);
  const [busy, setBusy] = useState(false);
  const zoneId = useId();
  const staff = !!me?.roles?.some((r) => r === "operator" || r === "admin");

  useEffect(() => {
    client.notifications
      .getPreferences()
      .then(setPrefs, (e: unknown) => setError(errorText(e, t)));
  }, []);

  if (!prefs) {
    return (
      <Page title={t("prefs.title")}>
        {error ? <Notice kind="error">{error}</Notice> : <Loading />}
      </Page>
    );
  }

  const kinds: [Kind, MessageKey][] = [
    ["own_requests", "prefs.own"],
    ["followed_requests", "prefs.followed"],
    ...(staff
      ? ([["department_requests", "prefs.department"]] as [Kind, MessageKey][])
      : []),
  ];
  const quiet = prefs.push_quiet_hours ?? {};

  function set(channel: Channel, kind: Kind, v: boolean) {
    setSaved(false);
    setPrefs({ ...prefs, [channel]: { ...prefs?.[channel], [kind]: v } });
  }
  function setQuiet(patch: Partial<typeof quiet>) {
    setSaved(false);
    setPrefs({ ...prefs, push_quiet_hours: { ...quiet, ...patch } });
  }

  async function save(e: Event) {
    e.preventDefault();
    setBusy(true);
    setError("");
    try {
      const body = complete(prefs ?? {});
      setPrefs(await client.notifications.putPreferences(body));
      setSaved(true);
    } catch (err) {
      setError(errorText(err, t));
    } finally {
      setBusy(false);
    }
  }

  return (
    <Page title={t("prefs.title")}>
      <form class="form" onSubmit={save}>
        {channels.map(([channel, label]) => (
          <fieldset key={channel}>
            <legend>{t(label)}</legend>
            {kinds.map(([kind, kl]) => (
              <Checkbox
                key={kind}
                label={t(kl)}
                checked={!!prefs[channel]?.[kind]}
                onChange={(v) => set(channel, kind, v)}
              />
            ))}
          </fieldset>
        ))}
        <fieldset>
          <legend>{t("prefs.quiet")}</legend>
          <Checkbox
            label={t("prefs.quietEnabled")}
            checked={!!quiet.enabled}
            onChange={(v) => setQuiet({ enabled: v })}
          />
          <div class="row">
            <TextField
              label={t("prefs.quietStart")}
              type="time"
              value={quiet.start ?? "22:00"}
              onValue={(v) => setQuiet({ start: v })}
            />
            <TextField
              label={t("prefs.quietEnd")}
              type="time"
              value={quiet.end ?? "07:00"}
              onValue={(v) => setQuiet({ end: v })}
            />
          </div>
          <div class="field">
            <label for={zoneId}>{t("prefs.timeZone")}</label>
            <select
              id={zoneId}
              value={quiet.time_zone || "Europe/Berlin"}
              onChange={(e) => setQuiet({ time_zone: e.currentTarget.value })}
            >
              {ZONES.map((z) => (
                <option key={z} value={z}>
                  {z}
                </option>
              ))}
            </select>
          </div>
        </fieldset>
        {error ? <Notice kind="error">{error}</Notice> : null}
        {saved ? <Notice kind="ok">{t("prefs.saved")}</Notice> : null}
        <button type="submit" class="button button--primary" disabled={busy}>
          {t("prefs.save")}
        </button>
      </form>
    </Page>
  );
}
