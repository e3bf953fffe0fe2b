import { useEffect, useMemo } from "preact/hooks";
import { useI18n } from "../../i18n";
import type { Photo } from "../../lib/outbox";
import { useId } from "../../components/ui";
import { preparePhoto } from "./preparePhoto";

const MAX = 5;
const TYPES = ["image/jpeg", "image/png", "image/webp"];

/** Several photos from the camera or files, with previews and a remove button each. */
export function PhotoPicker(props: {
  photos: Photo[];
  onChange: (p: Photo[]) => void;
}) {
  const { t } = useI18n();
  const id = useId("photos");
  const urls = useMemo(
    () => props.photos.map((p) => URL.createObjectURL(p.blob)),
    [props.photos],
  );
  useEffect(() => () => urls.forEach((u) => URL.revokeObjectURL(u)), [urls]);

  async function add(files: FileList | null) {
    if (!files) return;
    const picked = Array.from(files)
      .filter((f) => TYPES.includes(f.type))
      .slice(0, MAX - props.photos.length);
    const prepared = await Promise.all(picked.map(preparePhoto));
    props.onChange([...props.photos, ...prepared].slice(0, MAX));
  }

  return (
    <fieldset class="photos">
      <legend>{t("report.photos")}</legend>
      <p class="hint" id={`${id}-hint`}>
        {t("report.photoHint")}
      </p>
      {props.photos.length ? (
        <ul class="photo-list">
          {urls.map((u, i) => (
            <li key={u}>
              <img src={u} alt={t("report.photoAlt", { n: i + 1 })} />
              <button
                type="button"
                class="button button--small"
                aria-label={t("report.removePhoto", { n: i + 1 })}
                onClick={() =>
                  props.onChange(props.photos.filter((_, j) => j !== i))
                }
              >
                ✕
              </button>
            </li>
          ))}
        </ul>
      ) : null}
      {props.photos.length < MAX ? (
        <div class="file-button">
          <input
            id={id}
            type="file"
            accept={TYPES.join(",")}
            multiple
            aria-describedby={`${id}-hint`}
            onChange={(e) => {
              const input = e.currentTarget;
              void add(input.files).finally(() => (input.value = ""));
            }}
          />
          <label for={id} class="button">
            {t("report.addPhoto")}
          </label>
        </div>
      ) : null}
    </fieldset>
  );
}
