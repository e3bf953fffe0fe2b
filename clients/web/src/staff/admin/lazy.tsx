import type { ComponentType } from "preact";
import { useEffect, useState } from "preact/hooks";
import type { Params } from "../../lib/router";
import { useStaffI18n } from "../i18n";

type Screen = ComponentType<{ params: Params }>;

/**
 * A screen in its own chunk, fetched when first shown: operators never download the admin
 * pages, and the dashboard's chart library comes only with the dashboard.
 */
export function lazyScreen(load: () => Promise<Screen>): Screen {
  let loaded: Screen | null = null;
  let pending: Promise<Screen> | null = null;
  return function LazyScreen(props: { params: Params }) {
    const { t } = useStaffI18n();
    const [Loaded, setLoaded] = useState<Screen | null>(() => loaded);
    const [failed, setFailed] = useState(false);
    useEffect(() => {
      if (Loaded) return;
      pending ??= load();
      pending.then(
        (c) => {
          loaded = c;
          setLoaded(() => c);
        },
        () => {
          pending = null;
          setFailed(true);
        },
      );
    }, []);
    if (Loaded) return <Loaded params={props.params} />;
    return failed ? (
      <p role="alert">{t("admin.loadFailed")}</p>
    ) : (
      <p role="status" aria-busy="true" />
    );
  };
}
