import { useEffect, useRef } from "preact/hooks";
import { useStaffI18n, type StaffKey } from "../i18n";

const KEYS: [string, StaffKey][] = [
  ["j", "work.key.next"],
  ["k", "work.key.previous"],
  ["x", "work.key.select"],
  ["a", "work.key.acknowledge"],
  ["Enter", "work.key.open"],
  ["?", "work.key.help"],
];

// The keyboard shortcuts, in a modal dialog (Escape or the button closes it; focus returns).
export function ShortcutHelp(props: { onClose: () => void }) {
  const { t } = useStaffI18n();
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const back = document.activeElement as HTMLElement | null;
    ref.current?.showModal();
    return () => back?.focus();
  }, []);
  return (
    <dialog
      ref={ref}
      class="staff-dialog"
      aria-labelledby="shortcuts-title"
      onClose={props.onClose}
    >
      <h2 id="shortcuts-title">{t("work.shortcuts")}</h2>
      <dl class="staff-keys">
        {KEYS.map(([k, text]) => (
          <div key={k}>
            <dt>
              <kbd>{k}</kbd>
            </dt>
            <dd>{t(text)}</dd>
          </div>
        ))}
      </dl>
      <form method="dialog">
        <button type="submit" class="button">
          {t("work.close")}
        </button>
      </form>
    </dialog>
  );
}
