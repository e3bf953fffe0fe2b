// Runtime configuration: the gateway fills <meta name="cityhub-config" content="{}"> with JSON.
export interface AppConfig {
  map_tiles_url?: string;
  map_attribution?: string;
  jurisdiction_id?: string;
  /** VAPID public key (base64url) for web push, when the operator configures one. */
  web_push_public_key?: string;
  map_center?: [number, number];
}

function readConfig(): AppConfig {
  const meta = document.querySelector('meta[name="cityhub-config"]');
  try {
    const parsed: unknown = JSON.parse(meta?.getAttribute("content") || "{}");
    return parsed && typeof parsed === "object" ? (parsed as AppConfig) : {};
  } catch {
    return {};
  }
}

export const config: AppConfig = readConfig();

/** Bielefeld's town hall: the default centre for "near me" when no position is known. */
export const DEFAULT_CENTER: [number, number] = config.map_center ?? [
  52.0211, 8.5325,
];
