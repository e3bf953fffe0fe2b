import { createStore, useStore } from "../lib/store";
import { de } from "./de";
import { en, type MessageKey } from "./en";

export type Language = "de" | "en";
export type { MessageKey };

const catalogues: Record<Language, Record<MessageKey, string>> = { de, en };
const STORAGE_KEY = "cityhub.language";

function initialLanguage(): Language {
  try {
    const saved = localStorage.getItem(STORAGE_KEY);
    if (saved === "de" || saved === "en") return saved;
  } catch {
    // storage may be blocked; fall through to the browser's language
  }
  const preferred = navigator.languages?.length
    ? navigator.languages
    : [navigator.language];
  for (const l of preferred) {
    const base = (l || "").toLowerCase().slice(0, 2);
    if (base === "de" || base === "en") return base;
  }
  return "de";
}

export const language = createStore<Language>(initialLanguage());

function applyLanguage(lang: Language) {
  document.documentElement.lang = lang;
}
applyLanguage(language.get());
language.subscribe(applyLanguage);

export function setLanguage(lang: Language) {
  try {
    localStorage.setItem(STORAGE_KEY, lang);
  } catch {
    // not remembered, still switched
  }
  language.set(lang);
}

export type Translate = (
  key: MessageKey,
  vars?: Record<string, string | number>,
) => string;

export function translate(
  lang: Language,
  key: MessageKey,
  vars?: Record<string, string | number>,
): string {
  const text = catalogues[lang][key] ?? en[key] ?? key;
  if (!vars) return text;
  return text.replace(/\{(\w+)\}/g, (m, name: string) =>
    name in vars ? String(vars[name]) : m,
  );
}

export const t: Translate = (key, vars) => translate(language.get(), key, vars);

/** The current language and a translate function; re-renders the caller when the language changes. */
export function useI18n(): { lang: Language; t: Translate } {
  const lang = useStore(language);
  return { lang, t: (key, vars) => translate(lang, key, vars) };
}

export function formatDate(lang: Language, iso: string | undefined): string {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleString(lang === "de" ? "de-DE" : "en-GB", {
    dateStyle: "medium",
    timeStyle: "short",
  });
}
