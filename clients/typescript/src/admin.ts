// AdminApi: the administrators' routes (catalogue, accounts and roles, API keys, webhooks, the
// city's geography and routing rules), as `client.admin`. Every call needs a signed-in admin;
// others get 403 (CityhubError). Reading the boundary and the districts is public.
import type { CallOptions } from "./core.js";
import { CityhubError } from "./errors.js";
import type { Account, BodyOf, QueryOf, ResponseOf, Service } from "./types.js";

/** A category as POST /v1/services and PATCH /v1/services/{code} take it. */
export type ServiceInput = BodyOf<"/v1/services", "post">;
export type ServiceAttributeInput = NonNullable<
  ServiceInput["attributes"]
>[number];
export type SetRolesBody = BodyOf<"/v1/accounts/{account_id}:setRoles", "post">;
export type ApiKey = NonNullable<
  ResponseOf<"/v1/apiKeys", "get">["api_keys"]
>[number];
/** A new API key with its secret `api_key`, which the API shows this once. */
export type CreatedApiKey = ResponseOf<"/v1/apiKeys", "post">;
export type Webhook = ResponseOf<"/v1/webhooks/{webhook_id}", "get">;
export type CreateWebhookBody = BodyOf<"/v1/webhooks", "post">;

// The geography routes take and answer JSON documents as they are (the OpenAPI document calls
// them objects), so their shapes are written here, as docs/api.md describes them.

/** A GeoJSON geometry: positions are [longitude, latitude] in WGS 84 (RFC 7946). */
export type Geometry =
  | { type: "Polygon"; coordinates: number[][][] }
  | { type: "MultiPolygon"; coordinates: number[][][][] };

/** A district of GET/PUT /v1/districts; `district_id` is what requests carry as `district`. */
export interface District {
  type: "Feature";
  properties: { district_id: string; name_de: string; name_en: string };
  geometry: Geometry;
}

export interface Districts {
  type: "FeatureCollection";
  features: District[];
}

/**
 * A rule of GET/PUT /v1/routingRules: the department of a category's new requests in a
 * district. `service_code` or `district` may be "" (any), not both.
 */
export interface RoutingRule {
  service_code: string;
  district: string;
  department: string;
}

/** The fields of a category that PATCH replaces when the editor sends the whole form. */
export const SERVICE_EDITABLE_FIELDS = [
  "names",
  "descriptions",
  "group",
  "keywords",
  "department",
  "sla_hours",
  "details_public",
  "attributes",
  "notices",
  "active",
] as const;
export type ServiceField = (typeof SERVICE_EDITABLE_FIELDS)[number];

type UpdateQuery = QueryOf<"/v1/services/{service_code}", "patch">;

/** How AdminApi makes a call (the client's core, with its retries, tokens and errors). */
export type Call = <T>(
  method: string,
  path: string,
  opts?: CallOptions,
) => Promise<T>;

const enc = encodeURIComponent;

export class AdminApi {
  constructor(private readonly call: Call) {}

  readonly services = {
    /** Every category, inactive ones too (admins see them), with both languages' texts. */
    list: async (language?: string): Promise<Service[]> => {
      const r = await this.call<{ services?: Service[] }>(
        "GET",
        "/v1/services",
        language === undefined ? {} : { query: { language } },
      );
      return r.services ?? [];
    },
    create: (service: ServiceInput): Promise<Service> =>
      this.call<Service>("POST", "/v1/services", { body: service }),
    /**
     * Changes a category. Without `fields`, only the fields present and not at their default
     * change (a `false` or an empty list is not sent); name the fields to set them to anything,
     * `false` and `[]` included: `update(code, s, SERVICE_EDITABLE_FIELDS)`.
     */
    update: (
      code: string,
      patch: ServiceInput,
      fields?: readonly ServiceField[],
    ): Promise<Service> => {
      const query: UpdateQuery | undefined =
        fields === undefined ? undefined : { "update_mask.paths": [...fields] };
      return this.call<Service>("PATCH", `/v1/services/${enc(code)}`, {
        body: patch,
        ...(query === undefined ? {} : { query }),
      });
    },
  };

  readonly accounts = {
    /** The account with this e-mail address (any case), or null. */
    findByEmail: async (email: string): Promise<Account | null> => {
      const r = await this.call<{ accounts?: Account[] }>(
        "GET",
        "/v1/accounts",
        { query: { email } },
      );
      return r.accounts?.[0] ?? null;
    },
    get: (accountId: string): Promise<Account> =>
      this.call<Account>("GET", `/v1/accounts/${enc(accountId)}`),
    /** Replaces roles and departments (`citizen` is always kept); new roles show in the next token. */
    setRoles: (accountId: string, body: SetRolesBody): Promise<Account> =>
      this.call<Account>("POST", `/v1/accounts/${enc(accountId)}:setRoles`, {
        body,
        idempotent: true,
      }),
  };

  readonly apiKeys = {
    create: (name: string): Promise<CreatedApiKey> =>
      this.call<CreatedApiKey>("POST", "/v1/apiKeys", { body: { name } }),
    list: async (): Promise<ApiKey[]> => {
      const r = await this.call<{ api_keys?: ApiKey[] }>("GET", "/v1/apiKeys");
      return r.api_keys ?? [];
    },
    delete: async (apiKeyId: string): Promise<void> => {
      await this.call("DELETE", `/v1/apiKeys/${enc(apiKeyId)}`);
    },
  };

  readonly webhooks = {
    /** Registers a webhook; the answer carries its signing `secret`, shown this once. */
    create: (body: CreateWebhookBody): Promise<Webhook> =>
      this.call<Webhook>("POST", "/v1/webhooks", { body }),
    list: async (): Promise<Webhook[]> => {
      const r = await this.call<{ webhooks?: Webhook[] }>(
        "GET",
        "/v1/webhooks",
      );
      return r.webhooks ?? [];
    },
    get: (webhookId: string): Promise<Webhook> =>
      this.call<Webhook>("GET", `/v1/webhooks/${enc(webhookId)}`),
    delete: async (webhookId: string): Promise<void> => {
      await this.call("DELETE", `/v1/webhooks/${enc(webhookId)}`);
    },
  };

  /** The city's boundary, its districts and the routing rules (`docs/api.md`, #15). */
  readonly geography = {
    /** The boundary; null when none is set (404). */
    boundary: async (): Promise<Geometry | null> => {
      try {
        return await this.call<Geometry>("GET", "/v1/jurisdiction/boundary");
      } catch (e) {
        if (e instanceof CityhubError && e.status === 404) return null;
        throw e;
      }
    },
    /** Replaces the boundary; answers the stored, normalised geometry. */
    setBoundary: (geometry: Geometry): Promise<Geometry> =>
      this.call<Geometry>("PUT", "/v1/jurisdiction/boundary", {
        body: geometry,
      }),
    /** Every district (an empty collection when none are set). */
    districts: (): Promise<Districts> =>
      this.call<Districts>("GET", "/v1/districts"),
    /** Replaces every district; open requests get their new districts in the background. */
    setDistricts: (districts: Districts): Promise<Districts> =>
      this.call<Districts>("PUT", "/v1/districts", { body: districts }),
    routingRules: (): Promise<RoutingRule[]> =>
      this.call<RoutingRule[]>("GET", "/v1/routingRules"),
    /** Replaces every rule; requests already filed keep their department. */
    setRoutingRules: (rules: RoutingRule[]): Promise<RoutingRule[]> =>
      this.call<RoutingRule[]>("PUT", "/v1/routingRules", { body: rules }),
  };
}
