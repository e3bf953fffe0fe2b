// Texts of the administrators' pages: catalogue, accounts and roles, API keys, webhooks.
export const adminEn = {
  "admin.catalogue": "Categories",
};
export const adminDe: Record<keyof typeof adminEn, string> = {
  "admin.catalogue": "Kategorien",
};
