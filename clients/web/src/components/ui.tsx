import type { ComponentChildren, JSX } from "preact";
import { useEffect, useRef } from "preact/hooks";
import { useI18n } from "../i18n";

// Small building blocks shared by the screens: a page frame, labelled fields, notices.

export function Page(props: {
  title: string;
  children?: ComponentChildren;
  back?: string;
}) {
  return (
    <section class="page" aria-labelledby="page-title">
      <h1 id="page-title" tabIndex={-1}>
        {props.title}
      </h1>
      {props.children}
    </section>
  );
}

let fieldSeq = 0;
export function useId(prefix = "f"): string {
  const ref = useRef<string>();
  if (!ref.current) ref.current = `${prefix}-${++fieldSeq}`;
  return ref.current;
}

type InputProps = {
  label: string;
  type?: string;
  autoComplete?: string;
  inputMode?: JSX.HTMLAttributes<HTMLInputElement>["inputMode"];
  pattern?: string;
  maxLength?: number;
  minLength?: number;
  hint?: string;
  error?: string;
  value: string;
  required?: boolean;
  onValue: (v: string) => void;
};

export function TextField({
  label,
  hint,
  error,
  value,
  onValue,
  required,
  ...rest
}: InputProps) {
  const id = useId();
  const { t } = useI18n();
  const describedBy = [hint ? `${id}-hint` : "", error ? `${id}-err` : ""]
    .filter(Boolean)
    .join(" ");
  return (
    <div class={"field" + (error ? " field--error" : "")}>
      <label for={id}>
        {label}
        {required ? <span class="req"> {t("report.requiredMark")}</span> : null}
      </label>
      {hint ? (
        <p class="hint" id={`${id}-hint`}>
          {hint}
        </p>
      ) : null}
      <input
        id={id}
        value={value}
        required={required}
        aria-invalid={error ? true : undefined}
        aria-describedby={describedBy || undefined}
        onInput={(e) => onValue(e.currentTarget.value)}
        {...rest}
      />
      {error ? (
        <p class="error-text" id={`${id}-err`}>
          {error}
        </p>
      ) : null}
    </div>
  );
}

export function TextArea(props: {
  label: string;
  hint?: string;
  error?: string;
  value: string;
  required?: boolean;
  maxLength?: number;
  onValue: (v: string) => void;
}) {
  const id = useId();
  const { t } = useI18n();
  return (
    <div class={"field" + (props.error ? " field--error" : "")}>
      <label for={id}>
        {props.label}
        {props.required ? (
          <span class="req"> {t("report.requiredMark")}</span>
        ) : null}
      </label>
      {props.hint ? (
        <p class="hint" id={`${id}-hint`}>
          {props.hint}
        </p>
      ) : null}
      <textarea
        id={id}
        rows={4}
        value={props.value}
        required={props.required}
        maxLength={props.maxLength}
        aria-invalid={props.error ? true : undefined}
        aria-describedby={props.hint ? `${id}-hint` : undefined}
        onInput={(e) => props.onValue(e.currentTarget.value)}
      />
      {props.error ? <p class="error-text">{props.error}</p> : null}
    </div>
  );
}

export function Checkbox(props: {
  label: string;
  checked: boolean;
  onChange: (v: boolean) => void;
}) {
  const id = useId();
  return (
    <div class="check">
      <input
        type="checkbox"
        id={id}
        checked={props.checked}
        onChange={(e) => props.onChange(e.currentTarget.checked)}
      />
      <label for={id}>{props.label}</label>
    </div>
  );
}

/** A status line read out by screen readers; errors are alerts. */
export function Notice(props: {
  kind?: "info" | "ok" | "error";
  children: ComponentChildren;
}) {
  const kind = props.kind ?? "info";
  return (
    <p
      class={`notice notice--${kind}`}
      role={kind === "error" ? "alert" : "status"}
    >
      {props.children}
    </p>
  );
}

export function Loading() {
  const { t } = useI18n();
  return (
    <p class="loading" role="status">
      {t("app.loading")}
    </p>
  );
}

/** Moves focus to an element when it appears (e.g. a result heading after sending). */
export function useFocusOnMount<T extends HTMLElement>() {
  const ref = useRef<T>(null);
  useEffect(() => ref.current?.focus(), []);
  return ref;
}
