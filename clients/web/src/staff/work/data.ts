import type { ResponseTemplate } from "@cityhub/sdk";
import { useEffect, useState } from "preact/hooks";
import { client } from "../../lib/api";
import type { Account, Service } from "../../lib/types";

// Data the work screens share, each fetched once per page load.

let services: Promise<Service[]> | null = null;
/** The catalogue (admins also get inactive categories): names and departments. */
export function loadServices(lang: string): Promise<Service[]> {
  services ??= client.services.list(lang).catch((e: unknown) => {
    services = null;
    throw e;
  });
  return services;
}

export function useServices(lang: string): Service[] {
  const [list, setList] = useState<Service[]>([]);
  useEffect(() => {
    let live = true;
    loadServices(lang).then(
      (s) => live && setList(s),
      () => undefined,
    );
    return () => {
      live = false;
    };
  }, [lang]);
  return list;
}

/** The departments a caller works for: an operator's own, for admins every one in the catalogue. */
export function departmentsOf(me: Account | null, list: Service[]): string[] {
  if (!me) return [];
  if (me.roles?.includes("admin")) {
    return [...new Set(list.map((s) => s.department).filter(Boolean))].sort();
  }
  return [...(me.departments ?? [])].sort();
}

let district: Promise<boolean> | null = null;
/**
 * Whether `GET /v1/requests` takes a `district` filter here: the console offers the filter only
 * when the server's OpenAPI document lists it (districts come with #15).
 */
export function useDistrictFilter(): boolean {
  const [has, setHas] = useState(false);
  useEffect(() => {
    district ??= fetch("/openapi.json")
      .then((r) => (r.ok ? r.json() : null))
      .then((doc: unknown) => {
        const params = (
          doc as {
            paths?: Record<
              string,
              { get?: { parameters?: { name?: string; in?: string }[] } }
            >;
          } | null
        )?.paths?.["/v1/requests"]?.get?.parameters;
        return !!params?.some((p) => p.name === "district" && p.in === "query");
      })
      .catch(() => false);
    let live = true;
    void district.then((v) => live && setHas(v));
    return () => {
      live = false;
    };
  }, []);
  return has;
}

let templates: Promise<ResponseTemplate[]> | null = null;
/** The response templates of the caller's departments (all of them, for admins). */
export function useTemplates(): ResponseTemplate[] {
  const [list, setList] = useState<ResponseTemplate[]>([]);
  useEffect(() => {
    templates ??= client.staff.responseTemplates().catch(() => {
      templates = null;
      return [];
    });
    let live = true;
    void templates.then((t) => live && setList(t));
    return () => {
      live = false;
    };
  }, []);
  return list;
}

/** A template's text in the console's language (German when it has no English text). */
export function templateText(t: ResponseTemplate, lang: string): string {
  return lang === "en" && t.text_en ? t.text_en : t.text_de;
}
