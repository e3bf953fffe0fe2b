// CityhubClient: the API's routes as methods, over Core (retries, errors) and Session (tokens).
import {
  Core,
  defaultSleep,
  type CallOptions,
  type RetryOptions,
} from "./core.js";
import { AdminApi } from "./admin.js";
import { randomId } from "./ids.js";
import { paginate } from "./paging.js";
import { Session, type TokenPairLike } from "./session.js";
import { notificationStream, type StreamOptions } from "./stream.js";
import { StaffApi } from "./staff.js";
import { MemoryTokenStore, type TokenStore } from "./tokens.js";
import {
  bodySize,
  fetchTransport,
  xhrTransport,
  type RequestBody,
  type XhrConstructor,
} from "./transport.js";
import type {
  Account,
  Comment,
  CreateRequestBody,
  Device,
  FeedbackBody,
  FollowState,
  Media,
  Notification,
  NotificationListQuery,
  NotificationPreferences,
  PersonalDataExport,
  RegisterBody,
  RegisterDeviceBody,
  ReporterContact,
  RequestFeedback,
  RequestFilters,
  Service,
  ServiceRequest,
  Stats,
  StatsQuery,
  TransitionBody,
  UpdateMeBody,
} from "./types.js";

export interface ClientOptions {
  /** The gateway's origin, e.g. "https://cityhub.example"; "" (default) = same origin. */
  baseUrl?: string;
  /** Where tokens live; default in memory. */
  tokenStore?: TokenStore;
  fetch?: typeof fetch;
  retry?: RetryOptions;
  /** The language ("de" or "en") for texts of categories and requests when none is given. */
  language?: () => string;
  /** Called when the session is lost: the refresh token was refused, sign in again. */
  onSignedOut?: () => void;
  /** Refresh the access token when less than this is left (default 30 s). */
  refreshAheadMs?: number;
  /** The stream reconnects when nothing arrived for this long (default 45 s: 3 heartbeats). */
  streamIdleTimeoutMs?: number;
  /** XMLHttpRequest for upload progress (default: the global one, if any); null: fetch only. */
  xhr?: XhrConstructor | null;
  /** For tests: how to wait, random numbers in [0, 1), the clock. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  random?: () => number;
  now?: () => number;
}

export interface UploadOptions {
  onProgress?: (sent: number, total: number) => void;
  signal?: AbortSignal;
}

export interface CreateOptions {
  /** Reuse a stored key (offline queue) so that a resend creates nothing new. */
  idempotencyKey?: string;
  signal?: AbortSignal;
}

type Page<K extends string, T> = { [P in K]: T[] } & {
  next_page_token: string;
};

const enc = encodeURIComponent;

export class CityhubClient {
  private readonly core: Core;
  private readonly session: Session;
  private readonly fetchFn: typeof fetch;
  private readonly opts: ClientOptions;

  constructor(opts: ClientOptions = {}) {
    this.opts = opts;
    this.fetchFn = (input, init) =>
      (opts.fetch ?? globalThis.fetch)(input, init);
    const now = opts.now ?? Date.now;
    this.session = new Session({
      store: opts.tokenStore ?? new MemoryTokenStore(),
      now,
      refreshAheadMs: opts.refreshAheadMs ?? 30_000,
      refresh: (refresh_token) =>
        this.core.request<TokenPairLike>("POST", "/v1/sessions:refresh", {
          body: { refresh_token },
          auth: false,
        }),
      onLost: () => opts.onSignedOut?.(),
    });
    this.core = new Core({
      baseUrl: opts.baseUrl ?? "",
      transport: fetchTransport(this.fetchFn),
      session: this.session,
      retry: {
        attempts: Math.max(1, opts.retry?.attempts ?? 4),
        baseDelayMs: opts.retry?.baseDelayMs ?? 200,
        maxDelayMs: opts.retry?.maxDelayMs ?? 10_000,
      },
      sleep: opts.sleep ?? defaultSleep,
      random: opts.random ?? Math.random,
      now,
    });
  }

  /** The administrators' routes (catalogue, accounts and roles, API keys, webhooks). */
  readonly admin = new AdminApi(<T>(m: string, p: string, o?: CallOptions) =>
    this.core.request<T>(m, p, o),
  );

  isSignedIn(): boolean {
    return this.session.current() !== null;
  }

  /** Calls `cb` on sign-in, sign-out and when the session is lost; returns the unsubscribe. */
  onAuthChange(cb: (signedIn: boolean) => void): () => void {
    return this.session.onChange(cb);
  }

  async signIn(email: string, password: string): Promise<void> {
    const pair = await this.core.request<TokenPairLike>(
      "POST",
      "/v1/sessions",
      {
        body: { email, password },
        auth: false,
      },
    );
    this.session.start(this.session.tokensFrom(pair));
  }

  /** Replaces the token pair now (e.g. so that the access token shows a just verified e-mail). */
  async refreshSession(): Promise<void> {
    const cur = this.session.current();
    if (cur !== null) await this.session.refresh(cur);
  }

  /** Revokes this session's refresh token (best effort) and forgets the tokens. */
  async signOut(): Promise<void> {
    try {
      const token = await this.session.accessToken();
      const cur = this.session.current();
      if (token !== null && cur !== null) {
        await this.core.request("POST", "/v1/sessions:signOut", {
          body: { refresh_token: cur.refresh_token },
          headers: { Authorization: `Bearer ${token}` },
          auth: false,
        });
      }
    } catch {
      // signed out locally all the same
    } finally {
      this.session.end();
    }
  }

  /** Any route: `call("GET", "/v1/me")`. Throws CityhubError. */
  call<T = unknown>(
    method: string,
    path: string,
    opts?: CallOptions,
  ): Promise<T> {
    return this.core.request<T>(method, path, opts);
  }

  private lang(language?: string): string | undefined {
    return language ?? this.opts.language?.();
  }

  private pages<K extends string, T>(
    path: string,
    key: K,
    query: Record<string, unknown> = {},
  ): AsyncIterable<T> {
    return paginate<T>(async (page_token) => {
      const page = await this.core.request<Partial<Page<K, T>>>("GET", path, {
        query: { ...query, page_token },
      });
      return {
        items: page[key] ?? [],
        next_page_token: page.next_page_token ?? "",
      };
    });
  }

  readonly accounts = {
    register: (b: RegisterBody): Promise<Account> =>
      this.core.request<Account>("POST", "/v1/accounts", {
        body: b,
        auth: false,
      }),
    /** Confirms the e-mail; when signed in, refreshes so the access token shows it. */
    verifyEmail: async (token: string): Promise<void> => {
      await this.core.request("POST", "/v1/accounts:verifyEmail", {
        body: { token },
        auth: false,
      });
      if (this.isSignedIn()) await this.refreshSession().catch(() => undefined);
    },
    resendVerification: async (): Promise<void> => {
      await this.core.request("POST", "/v1/me:resendVerification");
    },
    me: (): Promise<Account> => this.core.request<Account>("GET", "/v1/me"),
    updateMe: (patch: UpdateMeBody): Promise<Account> =>
      this.core.request<Account>("PATCH", "/v1/me", { body: patch }),
    changePassword: async (current: string, next: string): Promise<void> => {
      await this.core.request("POST", "/v1/me:changePassword", {
        body: { current_password: current, new_password: next },
      });
    },
    requestPasswordReset: async (email: string): Promise<void> => {
      await this.core.request("POST", "/v1/passwordResets", {
        body: { email },
        auth: false,
      });
    },
    confirmPasswordReset: async (
      token: string,
      password: string,
    ): Promise<void> => {
      await this.core.request("POST", "/v1/passwordResets:confirm", {
        body: { token, new_password: password },
        auth: false,
      });
    },
    exportMyData: (): Promise<PersonalDataExport> =>
      this.core.request<PersonalDataExport>("GET", "/v1/me:export"),
    /** Erases the account everywhere; the session ends. */
    deleteAccount: async (password: string): Promise<void> => {
      await this.core.request("POST", "/v1/me:delete", { body: { password } });
      this.session.end();
    },
  };

  readonly services = {
    list: async (language?: string): Promise<Service[]> => {
      const r = await this.core.request<{ services?: Service[] }>(
        "GET",
        "/v1/services",
        {
          query: { language: this.lang(language) },
        },
      );
      return r.services ?? [];
    },
    get: (code: string, language?: string): Promise<Service> =>
      this.core.request<Service>("GET", `/v1/services/${enc(code)}`, {
        query: { language: this.lang(language) },
      }),
  };

  /** GET /v1/stats (public): figures over the requests received in [since, until). */
  stats(query: StatsQuery = {}): Promise<Stats> {
    return this.core.request<Stats>("GET", "/v1/stats", { query });
  }

  readonly media = {
    /**
     * Uploads a photo (JPEG, PNG or WebP). Progress comes from XMLHttpRequest's upload events
     * where there is one; with fetch only, once at the end. Retried like any idempotent call
     * (the same bytes give the same media_id).
     */
    upload: async (
      data: Blob | ArrayBuffer | Uint8Array,
      contentType: string,
      opts: UploadOptions = {},
    ): Promise<Media> => {
      const body: RequestBody = data;
      const total = bodySize(body);
      const Xhr =
        this.opts.xhr === undefined
          ? (globalThis as { XMLHttpRequest?: XhrConstructor }).XMLHttpRequest
          : this.opts.xhr;
      let reported = -1;
      const onProgress =
        opts.onProgress === undefined
          ? undefined
          : (sent: number, all: number) => {
              reported = sent;
              opts.onProgress?.(sent, all);
            };
      const res = await this.core.request<Media>("POST", "/v1/media", {
        rawBody: body,
        contentType,
        idempotent: true,
        ...(opts.signal === undefined ? {} : { signal: opts.signal }),
        ...(onProgress !== undefined && Xhr !== undefined && Xhr !== null
          ? { transport: xhrTransport(Xhr, onProgress) }
          : {}),
      });
      if (reported !== total) onProgress?.(total, total); // the final report (fetch)
      return res;
    },
  };

  readonly requests = {
    /**
     * Files a request. Its Idempotency-Key (generated unless given) stays the same across the
     * retries of this call, so a retry never files twice.
     */
    create: async (
      body: CreateRequestBody,
      opts: CreateOptions = {},
    ): Promise<ServiceRequest> => {
      const idempotencyKey = opts.idempotencyKey ?? (await randomId());
      return this.core.request<ServiceRequest>("POST", "/v1/requests", {
        body,
        idempotencyKey,
        ...(opts.signal === undefined ? {} : { signal: opts.signal }),
      });
    },
    get: (id: string, language?: string): Promise<ServiceRequest> =>
      this.core.request<ServiceRequest>("GET", `/v1/requests/${enc(id)}`, {
        query: { language: this.lang(language) },
      }),
    list: (
      filters: RequestFilters = {} as RequestFilters,
    ): AsyncIterable<ServiceRequest> =>
      this.pages<"requests", ServiceRequest>(
        "/v1/requests",
        "requests",
        filters,
      ),
    listPage: (
      filters: RequestFilters & { page_token?: string } = {} as RequestFilters,
    ): Promise<Page<"requests", ServiceRequest>> =>
      this.listPage("/v1/requests", "requests", filters),
    mine: (): AsyncIterable<ServiceRequest> =>
      this.pages<"requests", ServiceRequest>("/v1/me/requests", "requests"),
    minePage: (
      q: { page_size?: number; page_token?: string } = {},
    ): Promise<Page<"requests", ServiceRequest>> =>
      this.listPage("/v1/me/requests", "requests", q),
    suggestDuplicates: async (q: {
      service_code: string;
      lat: number;
      long: number;
    }): Promise<ServiceRequest[]> => {
      const r = await this.core.request<{ requests?: ServiceRequest[] }>(
        "GET",
        "/v1/requests:suggestDuplicates",
        { query: q },
      );
      return r.requests ?? [];
    },
    comments: (id: string): AsyncIterable<Comment> =>
      this.pages<"comments", Comment>(
        `/v1/requests/${enc(id)}/comments`,
        "comments",
      ),
    commentsPage: (
      id: string,
      q: { page_size?: number; page_token?: string } = {},
    ): Promise<Page<"comments", Comment>> =>
      this.listPage(`/v1/requests/${enc(id)}/comments`, "comments", q),
    addComment: (id: string, text: string): Promise<Comment> =>
      this.core.request<Comment>("POST", `/v1/requests/${enc(id)}/comments`, {
        body: { text },
      }),
    addMedia: (id: string, mediaIds: string[]): Promise<ServiceRequest> =>
      this.core.request<ServiceRequest>(
        "POST",
        `/v1/requests/${enc(id)}:addMedia`,
        {
          body: { media_ids: mediaIds },
        },
      ),
    follow: (id: string): Promise<FollowState> =>
      this.core.request<FollowState>("POST", `/v1/requests/${enc(id)}:follow`, {
        idempotent: true,
      }),
    unfollow: (id: string): Promise<FollowState> =>
      this.core.request<FollowState>(
        "POST",
        `/v1/requests/${enc(id)}:unfollow`,
        {
          idempotent: true,
        },
      ),
    /**
     * The reporter's feedback on a resolved request, once: signed in as its owner, or with
     * `body.token` from the mailed link. `fixed: false` reopens a resolved request.
     */
    feedback: (id: string, body: FeedbackBody): Promise<RequestFeedback> =>
      this.core.request<RequestFeedback>(
        "POST",
        `/v1/requests/${enc(id)}:feedback`,
        { body },
      ),
    /** An anonymous reporter confirms their address with the mailed token. */
    confirmContact: (token: string): Promise<ReporterContact> =>
      this.core.request<ReporterContact>(
        "POST",
        "/v1/requests:confirmContact",
        {
          body: { token },
        },
      ),
    /** No more mails about the request the token names. */
    unsubscribe: (token: string): Promise<ReporterContact> =>
      this.core.request<ReporterContact>("POST", "/v1/requests:unsubscribe", {
        body: { token },
      }),
    /** Moves a request to another status (operators of its department, admins). */
    transition: (id: string, body: TransitionBody): Promise<ServiceRequest> =>
      this.core.request<ServiceRequest>(
        "POST",
        `/v1/requests/${enc(id)}:transition`,
        { body },
      ),
  };

  /** The staff's calls (operators, admins): queue, counts, bulk acknowledge, moderation. */
  readonly staff = new StaffApi(this.call.bind(this));

  readonly notifications = {
    list: (
      q: NotificationListQuery = {} as NotificationListQuery,
    ): AsyncIterable<Notification> =>
      this.pages<"notifications", Notification>(
        "/v1/notifications",
        "notifications",
        q,
      ),
    listPage: (
      q: NotificationListQuery & {
        page_token?: string;
      } = {} as NotificationListQuery,
    ): Promise<Page<"notifications", Notification>> =>
      this.listPage("/v1/notifications", "notifications", q),
    unreadCount: async (): Promise<number> => {
      const r = await this.core.request<{ count?: number | string }>(
        "GET",
        "/v1/notifications:unreadCount",
      );
      return Number(r.count ?? 0);
    },
    markRead: (id: string): Promise<Notification> =>
      this.core.request<Notification>(
        "POST",
        `/v1/notifications/${enc(id)}:markRead`,
        {
          idempotent: true,
        },
      ),
    markAllRead: async (): Promise<void> => {
      await this.core.request("POST", "/v1/notifications:markAllRead", {
        idempotent: true,
      });
    },
    /**
     * New inbox entries as they arrive, each once. Reconnects with Last-Event-ID after network
     * trouble and the server's hourly end; ends when `signal` aborts or the loop breaks; throws
     * CityhubError when the stream is refused for good (signed out, 403).
     */
    stream: (opts: StreamOptions = {}): AsyncIterable<Notification> =>
      notificationStream<Notification & { notification_id?: string }>(
        {
          core: this.core,
          fetch: this.fetchFn,
          idleTimeoutMs: this.opts.streamIdleTimeoutMs ?? 45_000,
        },
        "/v1/notifications:stream",
        opts,
      ),
    getPreferences: (): Promise<NotificationPreferences> =>
      this.core.request<NotificationPreferences>(
        "GET",
        "/v1/me/notificationPreferences",
      ),
    /** Replaces the whole preferences object (omitted switches become false). */
    putPreferences: (
      p: NotificationPreferences,
    ): Promise<NotificationPreferences> =>
      this.core.request<NotificationPreferences>(
        "PUT",
        "/v1/me/notificationPreferences",
        {
          body: p,
        },
      ),
    /** Registers a push target; the same token again replaces its entry. */
    registerDevice: (d: RegisterDeviceBody): Promise<Device> =>
      this.core.request<Device>("POST", "/v1/devices", {
        body: d,
        idempotent: true,
      }),
    listDevices: async (): Promise<Device[]> => {
      const r = await this.core.request<{ devices?: Device[] }>(
        "GET",
        "/v1/devices",
      );
      return r.devices ?? [];
    },
    deleteDevice: async (id: string): Promise<void> => {
      await this.core.request("DELETE", `/v1/devices/${enc(id)}`);
    },
  };

  private async listPage<K extends string, T>(
    path: string,
    key: K,
    query: object,
  ): Promise<Page<K, T>> {
    const page = await this.core.request<Partial<Page<K, T>>>("GET", path, {
      query: query as Record<string, unknown>,
    });
    return {
      [key]: page[key] ?? [],
      next_page_token: page.next_page_token ?? "",
    } as Page<K, T>;
  }
}
