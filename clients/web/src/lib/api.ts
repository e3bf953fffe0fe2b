import {
  CityhubClient,
  CityhubError,
  LocalStorageTokenStore,
} from "@cityhub/sdk";
import { useEffect, useState } from "preact/hooks";
import { language, type Translate } from "../i18n";
import { createStore, useStore } from "./store";
import type { Account } from "./types";

// The one SDK client of the app: same origin, tokens kept in localStorage, texts in the UI language.
export const client = new CityhubClient({
  baseUrl: "",
  tokenStore: new LocalStorageTokenStore("cityhub.tokens"),
  language: () => language.get(),
  onSignedOut: () => signedIn.set(false),
});

export const signedIn = createStore<boolean>(client.isSignedIn());
client.onAuthChange((v) => signedIn.set(v));

export function useSignedIn(): boolean {
  return useStore(signedIn);
}

/** The signed-in account (null while unknown or signed out); refreshed on sign-in. */
export const account = createStore<Account | null>(null);

export async function loadAccount(): Promise<Account | null> {
  if (!client.isSignedIn()) {
    account.set(null);
    return null;
  }
  try {
    const me = (await client.accounts.me()) as Account;
    account.set(me);
    return me;
  } catch {
    return account.get();
  }
}
signedIn.subscribe((v) => {
  if (v) void loadAccount();
  else account.set(null);
});
if (client.isSignedIn()) void loadAccount();

export function useAccount(): Account | null {
  return useStore(account);
}

export function isNetworkError(e: unknown): boolean {
  return (
    (e instanceof CityhubError && e.status === 0) ||
    e instanceof TypeError ||
    (typeof navigator !== "undefined" && navigator.onLine === false)
  );
}

/** A message for the user: the server's own text (it names the field) or a generic one. */
export function errorText(e: unknown, t: Translate): string {
  if (e instanceof CityhubError) {
    if (e.status === 0) return t("app.offline");
    return t("app.error", { message: e.message || String(e.status) });
  }
  return t("app.error", {
    message: e instanceof Error ? e.message : String(e),
  });
}

export function errorStatus(e: unknown): number {
  return e instanceof CityhubError ? e.status : -1;
}

/** Runs an async loader on mount and when deps change; keeps the latest answer only. */
export function useLoad<T>(
  load: () => Promise<T>,
  deps: unknown[],
): {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  reload: () => void;
} {
  const [state, setState] = useState<{
    data?: T;
    error?: unknown;
    loading: boolean;
  }>({
    loading: true,
  });
  const [n, setN] = useState(0);
  useEffect(() => {
    let live = true;
    setState((s) => ({ data: s.data, loading: true }));
    load().then(
      (data) => live && setState({ data, loading: false }),
      (error: unknown) => live && setState({ error, loading: false }),
    );
    return () => {
      live = false;
    };
  }, [...deps, n]);
  return {
    data: state.data,
    error: state.error,
    loading: state.loading,
    reload: () => setN((x) => x + 1),
  };
}
