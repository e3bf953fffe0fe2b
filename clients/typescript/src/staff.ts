// StaffApi: the calls of the city's staff (operators of a department, admins) that the staff
// console needs beyond the resident's: the work queue and its counts, bulk acknowledge, reroute,
// assign, moderation and response templates. Only public routes (docs/api.md, section 4).
import type { CallOptions } from "./core.js";
import { paginate } from "./paging.js";
import type {
  BodyOf,
  Comment,
  QueryOf,
  ResponseOf,
  ServiceRequest,
} from "./types.js";

export type StaffCall = <T>(
  method: string,
  path: string,
  opts?: CallOptions,
) => Promise<T>;

/**
 * Filters of the work queue: those of `GET /v1/requests`, with the staff ones (`department`,
 * `assignee` = an account id or "me", `overdue`). `district` is sent only when set; servers
 * whose document has no such filter answer 400 (check the document before offering it).
 */
export type QueueFilters = Omit<
  QueryOf<"/v1/requests", "get">,
  "page_token"
> & {
  district?: string;
};

export type RerouteBody = BodyOf<"/v1/requests/{request_id}:reroute", "post">;
export type ModerateBody = BodyOf<"/v1/requests/{request_id}:moderate", "post">;
export type ResponseTemplate = NonNullable<
  ResponseOf<"/v1/responseTemplates", "get">["templates"]
>[number];

/** How many requests match, counted by walking pages up to a cap. */
export interface QueueCount {
  count: number;
  /** false: there are more than `count` (the walk stopped at the cap): a lower bound. */
  exact: boolean;
}

/** One request's outcome in a bulk action. */
export type BulkOutcome =
  | { request_id: string; ok: true; request: ServiceRequest }
  | { request_id: string; ok: false; error: unknown };

const enc = encodeURIComponent;

export class StaffApi {
  constructor(private readonly call: StaffCall) {}

  /** One page of the queue, newest first. */
  async queuePage(
    filters: QueueFilters & { page_token?: string } = {},
  ): Promise<{ requests: ServiceRequest[]; next_page_token: string }> {
    const page = await this.call<{
      requests?: ServiceRequest[];
      next_page_token?: string;
    }>("GET", "/v1/requests", { query: { ...filters } });
    return {
      requests: page.requests ?? [],
      next_page_token: page.next_page_token ?? "",
    };
  }

  /**
   * Counts the requests matching `filters` by walking their pages (100 a page) until `cap`
   * are seen. The API has no count route, and a page may be short while more follow, so a
   * walk that stops at the cap says so (`exact: false`).
   */
  async count(filters: QueueFilters, cap = 500): Promise<QueueCount> {
    let count = 0;
    const pages = paginate<ServiceRequest>(async (page_token) => {
      const p = await this.queuePage({
        ...filters,
        page_size: 100,
        ...(page_token === undefined ? {} : { page_token }),
      });
      return { items: p.requests, next_page_token: p.next_page_token };
    });
    const it = pages[Symbol.asyncIterator]();
    while (!(await it.next()).done) {
      if (count === cap) {
        await it.return?.();
        return { count, exact: false };
      }
      count++;
    }
    return { count, exact: true };
  }

  /**
   * Acknowledges several requests, at most `parallel` at a time, each with the same public
   * note. One failing (already moved, another department) does not stop the others: each
   * request's outcome is returned in the order given.
   */
  async acknowledgeAll(
    ids: readonly string[],
    opts: {
      public_note?: string;
      internal_note?: string;
      parallel?: number;
    } = {},
  ): Promise<BulkOutcome[]> {
    const body = {
      status: "ACKNOWLEDGED" as const,
      ...(opts.public_note ? { public_note: opts.public_note } : {}),
      ...(opts.internal_note ? { internal_note: opts.internal_note } : {}),
    };
    const out: BulkOutcome[] = new Array<BulkOutcome>(ids.length);
    let next = 0;
    const worker = async () => {
      while (next < ids.length) {
        const i = next++;
        const id = ids[i] as string;
        try {
          const request = await this.call<ServiceRequest>(
            "POST",
            `/v1/requests/${enc(id)}:transition`,
            { body },
          );
          out[i] = { request_id: id, ok: true, request };
        } catch (error) {
          out[i] = { request_id: id, ok: false, error };
        }
      }
    };
    const n = Math.max(1, Math.min(opts.parallel ?? 4, ids.length));
    await Promise.all(Array.from({ length: n }, worker));
    return out;
  }

  /** Moves an open request to another category (and its department). */
  reroute(id: string, body: RerouteBody): Promise<ServiceRequest> {
    return this.call<ServiceRequest>(
      "POST",
      `/v1/requests/${enc(id)}:reroute`,
      { body },
    );
  }

  /** Assigns to an operator of the request's department; "" unassigns. */
  assign(id: string, assigneeAccountId: string): Promise<ServiceRequest> {
    return this.call<ServiceRequest>("POST", `/v1/requests/${enc(id)}:assign`, {
      body: { assignee_account_id: assigneeAccountId },
      idempotent: true,
    });
  }

  /** Hides photos and/or replaces the description; `reason` is required (1–500). */
  moderate(id: string, body: ModerateBody): Promise<ServiceRequest> {
    return this.call<ServiceRequest>(
      "POST",
      `/v1/requests/${enc(id)}:moderate`,
      { body, idempotent: true },
    );
  }

  /** Hides a comment (its text is erased); `reason` 1–500. */
  hideComment(
    requestId: string,
    commentId: string,
    reason: string,
  ): Promise<Comment> {
    return this.call<Comment>(
      "POST",
      `/v1/requests/${enc(requestId)}/comments/${enc(commentId)}:hide`,
      { body: { reason }, idempotent: true },
    );
  }

  /** Every response template of the caller's departments (or of `department`), all pages. */
  async responseTemplates(department?: string): Promise<ResponseTemplate[]> {
    const all: ResponseTemplate[] = [];
    const pages = paginate<ResponseTemplate>(async (page_token) => {
      const p = await this.call<{
        templates?: ResponseTemplate[];
        next_page_token?: string;
      }>("GET", "/v1/responseTemplates", {
        query: { department, page_size: 100, page_token },
      });
      return {
        items: p.templates ?? [],
        next_page_token: p.next_page_token ?? "",
      };
    });
    for await (const t of pages) all.push(t);
    return all;
  }
}
