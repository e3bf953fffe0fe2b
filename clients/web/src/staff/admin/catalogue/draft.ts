import type { ServiceInput } from "@cityhub/sdk";
import type { Service, ServiceAttribute } from "../../../lib/types";

// The catalogue editor's form state: plain strings and lists as the inputs hold them, turned
// into the API's Service body on save and into the resident form's attribute definitions for
// the live preview.

export const CATALOGUE = "/staff/admin/catalogue";

export const DATATYPES = [
  "string",
  "text",
  "number",
  "datetime",
  "singlevaluelist",
  "multivaluelist",
] as const;
export type Datatype = (typeof DATATYPES)[number];

export interface ValueDraft {
  key: string;
  de: string;
  en: string;
}

export interface AttributeDraft {
  /** A stable id for rendering while the code is edited. */
  uid: number;
  code: string;
  datatype: Datatype;
  required: boolean;
  /** false: an informational text that takes no answer. */
  variable: boolean;
  de: string;
  en: string;
  values: ValueDraft[];
}

export interface ServiceDraft {
  service_code: string;
  name_de: string;
  name_en: string;
  description_de: string;
  description_en: string;
  group: string;
  keywords: string;
  department: string;
  sla_hours: string;
  details_public: boolean;
  active: boolean;
  notice_de: string;
  notice_en: string;
  attributes: AttributeDraft[];
}

let uids = 0;
export const nextUid = (): number => ++uids;

export function isList(t: string): boolean {
  return t === "singlevaluelist" || t === "multivaluelist";
}

export function emptyDraft(): ServiceDraft {
  return {
    service_code: "",
    name_de: "",
    name_en: "",
    description_de: "",
    description_en: "",
    group: "",
    keywords: "",
    department: "",
    sla_hours: "72",
    details_public: true,
    active: true,
    notice_de: "",
    notice_en: "",
    attributes: [],
  };
}

export function emptyAttribute(): AttributeDraft {
  return {
    uid: nextUid(),
    code: "",
    datatype: "string",
    required: false,
    variable: true,
    de: "",
    en: "",
    values: [],
  };
}

function asDatatype(t: string): Datatype {
  return (DATATYPES as readonly string[]).includes(t)
    ? (t as Datatype)
    : "string";
}

export function draftFrom(s: Service): ServiceDraft {
  const attrs = [...(s.attributes ?? [])].sort(
    (a, b) => (a.order ?? 0) - (b.order ?? 0),
  );
  return {
    service_code: s.service_code ?? "",
    name_de: s.names?.de ?? s.name ?? "",
    name_en: s.names?.en ?? "",
    description_de: s.descriptions?.de ?? s.description ?? "",
    description_en: s.descriptions?.en ?? "",
    group: s.group ?? "",
    keywords: (s.keywords ?? []).join(", "),
    department: s.department ?? "",
    sla_hours: s.sla_hours ? String(s.sla_hours) : "",
    details_public: !!s.details_public,
    active: !!s.active,
    notice_de: s.notices?.de ?? "",
    notice_en: s.notices?.en ?? "",
    attributes: attrs.map((a) => ({
      uid: nextUid(),
      code: a.code ?? "",
      datatype: asDatatype(a.datatype ?? ""),
      required: !!a.required,
      variable: a.variable !== false,
      de: a.descriptions?.de ?? a.description ?? "",
      en: a.descriptions?.en ?? "",
      values: (a.values ?? []).map((v) => ({
        key: v.key ?? "",
        de: v.names?.de ?? v.name ?? "",
        en: v.names?.en ?? "",
      })),
    })),
  };
}

export function splitList(text: string): string[] {
  return text
    .split(",")
    .map((x) => x.trim())
    .filter(Boolean);
}

/** The body of POST /v1/services (and, without service_code, of PATCH). */
export function serviceInput(d: ServiceDraft): ServiceInput {
  const sla = Number(d.sla_hours.trim());
  return {
    service_code: d.service_code.trim(),
    names: { de: d.name_de.trim(), en: d.name_en.trim() },
    descriptions: { de: d.description_de.trim(), en: d.description_en.trim() },
    group: d.group.trim(),
    keywords: splitList(d.keywords),
    department: d.department.trim(),
    // an empty or non-numeric entry goes as 0, which the API refuses naming sla_hours
    sla_hours: Number.isInteger(sla) ? sla : 0,
    details_public: d.details_public,
    active: d.active,
    notices: { de: d.notice_de.trim(), en: d.notice_en.trim() },
    attributes: d.attributes.map((a, i) => ({
      code: a.code.trim(),
      datatype: a.datatype,
      required: a.variable && a.required,
      variable: a.variable,
      order: i + 1,
      descriptions: { de: a.de.trim(), en: a.en.trim() },
      values: isList(a.datatype)
        ? a.values.map((v) => ({
            key: v.key.trim(),
            names: { de: v.de.trim(), en: v.en.trim() },
          }))
        : [],
    })),
  };
}

/** The attributes as the resident app receives them in `lang` (German where English is empty). */
export function previewAttributes(
  d: ServiceDraft,
  lang: "de" | "en",
): ServiceAttribute[] {
  const pick = (de: string, en: string) => (lang === "en" && en ? en : de);
  return d.attributes.map((a, i) => ({
    code: a.code || `attribute_${i + 1}`,
    datatype: a.datatype,
    required: a.variable && a.required,
    variable: a.variable,
    order: i + 1,
    description: pick(a.de, a.en),
    descriptions: { de: a.de, en: a.en },
    values: isList(a.datatype)
      ? a.values.map((v, j) => ({
          key: v.key || `value_${j + 1}`,
          name: pick(v.de, v.en),
          names: { de: v.de, en: v.en },
        }))
      : [],
  }));
}
