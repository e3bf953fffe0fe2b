import { createStore, useStore } from "./store";

// A small router over the History API: the location is a store, links are intercepted once
// for the whole document, and routes are matched by patterns like "/requests/:id".
export interface Location {
  path: string;
  query: URLSearchParams;
}

function read(): Location {
  return {
    path: window.location.pathname,
    query: new URLSearchParams(window.location.search),
  };
}

export const location = createStore<Location>(read());

export function navigate(to: string, opts: { replace?: boolean } = {}) {
  const url = new URL(to, window.location.href);
  if (url.origin !== window.location.origin) {
    window.location.assign(url.href);
    return;
  }
  const target = url.pathname + url.search + url.hash;
  if (opts.replace) history.replaceState(null, "", target);
  else history.pushState(null, "", target);
  location.set(read());
  window.scrollTo(0, 0);
}

/** Paths the app does not handle itself (the API and the gateway's own pages). */
function isAppPath(path: string): boolean {
  return !/^\/(v1|open311|\.well-known|openapi\.json|healthz|readyz|metrics)(\/|$|:)/.test(
    path,
  );
}

export function startRouter() {
  window.addEventListener("popstate", () => location.set(read()));
  document.addEventListener("click", (e) => {
    if (
      e.defaultPrevented ||
      e.button !== 0 ||
      e.metaKey ||
      e.ctrlKey ||
      e.shiftKey ||
      e.altKey
    ) {
      return;
    }
    const a = (e.target as Element | null)?.closest?.("a");
    if (!a || a.target || a.hasAttribute("download")) return;
    const url = new URL(a.href, window.location.href);
    if (url.origin !== window.location.origin || !isAppPath(url.pathname))
      return;
    if (url.hash && url.pathname === window.location.pathname) return; // in-page link (skip link)
    e.preventDefault();
    navigate(url.pathname + url.search + url.hash);
  });
}

export function useLocation(): Location {
  return useStore(location);
}

export type Params = Record<string, string>;

export function match(pattern: string, path: string): Params | null {
  const p = pattern.split("/").filter(Boolean);
  const s = path.split("/").filter(Boolean);
  if (p.length !== s.length) return null;
  const params: Params = {};
  for (let i = 0; i < p.length; i++) {
    if (p[i].startsWith(":")) params[p[i].slice(1)] = decodeURIComponent(s[i]);
    else if (p[i] !== s[i]) return null;
  }
  return params;
}
