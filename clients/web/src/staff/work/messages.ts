// Texts of the operators' work: queue, a report's staff view, map, dashboard.
export const workEn = {
  "work.queue": "Queue",
};
export const workDe: Record<keyof typeof workEn, string> = {
  "work.queue": "Eingang",
};
