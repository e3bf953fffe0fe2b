import { useI18n, type Language } from "../i18n";
import { adminDe, adminEn } from "./admin/messages";
import { workDe, workEn } from "./work/messages";

// The console's own texts, in its chunk (not in the resident bundle). Each area keeps its
// messages in its own folder; keys are prefixed with the area ("work.", "admin.").
const shell = {
  en: {
    "shell.title": "cityhub staff",
    "shell.nav": "Staff console",
    "shell.residentApp": "Resident app",
    "shell.notFound": "There is no such page in the staff console.",
  },
  de: {
    "shell.title": "cityhub Verwaltung",
    "shell.nav": "Verwaltungskonsole",
    "shell.residentApp": "Bürger-App",
    "shell.notFound": "Diese Seite gibt es in der Verwaltungskonsole nicht.",
  },
};

const en = { ...shell.en, ...workEn, ...adminEn };
export type StaffKey = keyof typeof en;
const de: Record<StaffKey, string> = { ...shell.de, ...workDe, ...adminDe };
const catalogues: Record<Language, Record<StaffKey, string>> = { de, en };

export type StaffTranslate = (
  key: StaffKey,
  vars?: Record<string, string | number>,
) => string;

/** Like useI18n, for the console's keys. */
export function useStaffI18n(): { lang: Language; t: StaffTranslate } {
  const { lang } = useI18n();
  return {
    lang,
    t: (key, vars) => {
      const text = catalogues[lang][key] ?? en[key] ?? key;
      if (!vars) return text;
      return text.replace(/\{(\w+)\}/g, (m, name: string) =>
        name in vars ? String(vars[name]) : m,
      );
    },
  };
}
