import type { QueueFilters } from "@cityhub/sdk";

// The queue's filters and sort, kept in the URL (?dept=roads&status=SUBMITTED&mine=1…) so a
// view can be bookmarked, shared and restored with the back button.

export const OPEN = ["SUBMITTED", "ACKNOWLEDGED", "IN_PROGRESS"] as const;
export const STATUSES = [
  ...OPEN,
  "RESOLVED",
  "REJECTED",
  "DUPLICATE",
  "CLOSED",
] as const;
export type Status = (typeof STATUSES)[number];

export const AGES = ["", "1d", "7d", "30d", "older7d", "older30d"] as const;
export type Age = (typeof AGES)[number];

export const SORTS = ["newest", "oldest", "due"] as const;
export type Sort = (typeof SORTS)[number];

export interface QueueState {
  /** "" = every department the caller may see (admins). */
  dept: string;
  status: Status[];
  category: string;
  district: string;
  mine: boolean;
  overdue: boolean;
  age: Age;
  sort: Sort;
}

const DAY = 24 * 3600 * 1000;

function oneOf<T extends string>(
  list: readonly T[],
  v: string | null,
  dflt: T,
): T {
  return list.includes(v as T) ? (v as T) : dflt;
}

/** Reads the state from a query; `defaultDept` when the URL names none. */
export function readQueue(q: URLSearchParams, defaultDept: string): QueueState {
  const status = q
    .getAll("status")
    .filter((s): s is Status => STATUSES.includes(s as Status));
  return {
    dept: q.has("dept") ? (q.get("dept") ?? "") : defaultDept,
    status: q.has("status") ? status : [...OPEN],
    category: q.get("category") ?? "",
    district: q.get("district") ?? "",
    mine: q.get("mine") === "1",
    overdue: q.get("overdue") === "1",
    age: oneOf(AGES, q.get("age"), ""),
    sort: oneOf(SORTS, q.get("sort"), "newest"),
  };
}

/** The query for a state (only what differs from the defaults, except the department). */
export function writeQueue(s: QueueState): string {
  const q = new URLSearchParams();
  q.set("dept", s.dept);
  const isDefault =
    s.status.length === OPEN.length && OPEN.every((x) => s.status.includes(x));
  if (!isDefault) {
    if (s.status.length === 0) q.append("status", "");
    for (const x of s.status) q.append("status", x);
  }
  if (s.category) q.set("category", s.category);
  if (s.district) q.set("district", s.district);
  if (s.mine) q.set("mine", "1");
  if (s.overdue) q.set("overdue", "1");
  if (s.age) q.set("age", s.age);
  if (s.sort !== "newest") q.set("sort", s.sort);
  return q.toString();
}

/** The API filters of a state (without status: the caller adds the statuses it asks for). */
export function apiFilters(
  s: QueueState,
  now: number = Date.now(),
): QueueFilters {
  const f: QueueFilters = {};
  if (s.dept) f.department = s.dept;
  if (s.category) f.service_code = [s.category];
  if (s.district) f.district = s.district;
  if (s.mine) f.assignee = "me";
  if (s.overdue) f.overdue = true;
  const ago = (days: number) => new Date(now - days * DAY).toISOString();
  if (s.age === "1d") f.since = ago(1);
  if (s.age === "7d") f.since = ago(7);
  if (s.age === "30d") f.since = ago(30);
  if (s.age === "older7d") f.until = ago(7);
  if (s.age === "older30d") f.until = ago(30);
  return f;
}

/** Where a request may move from its status (docs/api.md, section 5). */
export const MOVES: Record<string, Status[]> = {
  SUBMITTED: ["ACKNOWLEDGED", "REJECTED", "DUPLICATE"],
  ACKNOWLEDGED: ["IN_PROGRESS", "RESOLVED", "REJECTED", "DUPLICATE"],
  IN_PROGRESS: ["RESOLVED", "REJECTED", "DUPLICATE"],
  RESOLVED: ["CLOSED", "IN_PROGRESS"],
  REJECTED: ["CLOSED"],
  DUPLICATE: ["CLOSED"],
  CLOSED: [],
};

export function isOpen(status: string | undefined): boolean {
  return OPEN.includes(status as (typeof OPEN)[number]);
}

export function isOverdue(
  r: { status?: string; expected_at?: string },
  now: number = Date.now(),
): boolean {
  return isOpen(r.status) && !!r.expected_at && Date.parse(r.expected_at) < now;
}
