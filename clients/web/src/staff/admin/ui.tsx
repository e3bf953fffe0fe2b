import type { ComponentChildren } from "preact";
import { useState } from "preact/hooks";
import { useId } from "../../components/ui";
import { useStaffI18n } from "../i18n";

// Small building blocks of the admin pages.

export function AdminPage(props: {
  title: string;
  children?: ComponentChildren;
  wide?: boolean;
}) {
  return (
    <section
      class={"page admin-page" + (props.wide ? " admin-page--wide" : "")}
      aria-labelledby="page-title"
    >
      <h1 id="page-title" tabIndex={-1}>
        {props.title}
      </h1>
      {props.children}
    </section>
  );
}

/** A secret the API returns once (API key, webhook secret): read-only, with a copy button. */
export function ShownOnce(props: { label: string; value: string }) {
  const { t } = useStaffI18n();
  const id = useId("secret");
  const [copied, setCopied] = useState<"" | "ok" | "failed">("");
  async function copy() {
    try {
      await navigator.clipboard.writeText(props.value);
      setCopied("ok");
    } catch {
      setCopied("failed");
    }
  }
  return (
    <div class="admin-secret" data-testid="shown-once">
      <label for={id}>{props.label}</label>
      <p class="hint" id={`${id}-hint`}>
        {t("admin.shownOnce")}
      </p>
      <div class="admin-secret-row">
        <input
          id={id}
          readOnly
          value={props.value}
          aria-describedby={`${id}-hint`}
          onFocus={(e) => e.currentTarget.select()}
        />
        <button type="button" class="button" onClick={() => void copy()}>
          {t("admin.copy")}
        </button>
      </div>
      {copied ? (
        <p role="status" class="small">
          {copied === "ok" ? t("admin.copied") : t("admin.copyFailed")}
        </p>
      ) : null}
    </div>
  );
}

/** A delete button that asks first, in place (no browser dialog), and focuses the question. */
export function DeleteButton(props: {
  name: string;
  onDelete: () => Promise<void>;
}) {
  const { t } = useStaffI18n();
  const [asking, setAsking] = useState(false);
  const [busy, setBusy] = useState(false);
  if (!asking) {
    return (
      <button
        type="button"
        class="button button--small"
        aria-label={`${t("admin.delete")}: ${props.name}`}
        onClick={() => setAsking(true)}
      >
        {t("admin.delete")}
      </button>
    );
  }
  return (
    <span class="admin-confirm" role="group" aria-label={t("admin.delete")}>
      <span ref={(el) => el?.focus()} tabIndex={-1}>
        {t("admin.confirmDelete", { name: props.name })}
      </span>{" "}
      <button
        type="button"
        class="button button--small button--danger"
        disabled={busy}
        onClick={async () => {
          setBusy(true);
          try {
            await props.onDelete();
          } finally {
            setBusy(false);
            setAsking(false);
          }
        }}
      >
        {t("admin.delete")}
      </button>{" "}
      <button
        type="button"
        class="button button--small"
        onClick={() => setAsking(false)}
      >
        {t("admin.cancel")}
      </button>
    </span>
  );
}
