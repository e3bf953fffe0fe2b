import { useEffect, useState } from "preact/hooks";
import { type MessageKey, useI18n } from "../i18n";
import { errorStatus, errorText } from "./api";

/** Where the redemption of a mail link's token stands. */
export type Redeemed<T> =
  | { state: "busy" }
  | { state: "ok"; value: T }
  | { state: "error"; error: string };

/**
 * Redeems the token of a mail link once, when its landing page opens (/verify-email,
 * /confirm-contact): busy until `redeem` answers, then its value or the error to show. A 404
 * means the token is unknown, used or expired, shown as `invalidKey`. An empty token is never
 * sent (the page says it is missing).
 */
export function useRedeemToken<T>(
  token: string,
  redeem: (token: string) => Promise<T>,
  invalidKey: MessageKey,
): Redeemed<T> {
  const { t } = useI18n();
  const [result, setResult] = useState<Redeemed<T>>({ state: "busy" });

  useEffect(() => {
    if (!token) return;
    let live = true;
    (async () => {
      try {
        const value = await redeem(token);
        if (live) setResult({ state: "ok", value });
      } catch (err) {
        if (!live) return;
        setResult({
          state: "error",
          error: errorStatus(err) === 404 ? t(invalidKey) : errorText(err, t),
        });
      }
    })();
    return () => {
      live = false;
    };
  }, [token]);

  return result;
}
