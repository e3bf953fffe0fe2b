import { useRef, useState } from "preact/hooks";
import { useI18n } from "../../i18n";
import {
  client,
  errorText,
  isNetworkError,
  useAccount,
  useLoad,
  useSignedIn,
} from "../../lib/api";
import { config } from "../../lib/config";
import { navigate } from "../../lib/router";
import {
  enqueue,
  newIdempotencyKey,
  submitReport,
  type Photo,
} from "../../lib/outbox";
import type { CreateRequestBody, ServiceRequest } from "../../lib/types";
import {
  Loading,
  Notice,
  Page,
  TextArea,
  TextField,
  useFocusOnMount,
} from "../../components/ui";
import {
  AttributeField,
  attributeAnswers,
  type AttributeValue,
} from "./AttributeField";
import { CategoryPicker } from "./CategoryPicker";
import { Duplicates } from "./Duplicates";
import { LocationPicker, type LocationValue } from "./LocationPicker";
import { PhotoPicker } from "./PhotoPicker";

type Step =
  | { kind: "form" }
  | { kind: "checking" }
  | { kind: "duplicates"; candidates: ServiceRequest[] }
  | { kind: "sending"; progress: string }
  | { kind: "sent"; request: ServiceRequest }
  | { kind: "queued" }
  | { kind: "followed"; id: string };

function Result(props: {
  text: string;
  href?: string;
  linkText?: string;
  onAnother: () => void;
}) {
  const ref = useFocusOnMount<HTMLParagraphElement>();
  const { t } = useI18n();
  return (
    <div class="result">
      <p class="notice notice--ok" role="status" tabIndex={-1} ref={ref}>
        {props.text}
      </p>
      <div class="stack">
        {props.href ? (
          <a class="button button--primary" href={props.href}>
            {props.linkText}
          </a>
        ) : null}
        <button type="button" class="button" onClick={props.onAnother}>
          {t("report.another")}
        </button>
      </div>
    </div>
  );
}

export function Report() {
  const { t, lang } = useI18n();
  const signed = useSignedIn();
  const me = useAccount();
  const unverified = signed && me !== null && !me.email_verified;
  const services = useLoad(() => client.services.list(lang), [lang]);

  const [code, setCode] = useState("");
  const [values, setValues] = useState<Record<string, AttributeValue>>({});
  const [description, setDescription] = useState("");
  const [photos, setPhotos] = useState<Photo[]>([]);
  const [where, setWhere] = useState<LocationValue>({
    lat: "",
    long: "",
    address: "",
  });
  const [contact, setContact] = useState({
    first_name: "",
    last_name: "",
    email: "",
    phone: "",
  });
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [error, setError] = useState("");
  const [step, setStep] = useState<Step>({ kind: "form" });
  const key = useRef(newIdempotencyKey());

  const service = services.data?.find((s) => s.service_code === code);
  const attrs = [...(service?.attributes ?? [])].sort(
    (a, b) => (a.order ?? 0) - (b.order ?? 0),
  );

  function reset() {
    key.current = newIdempotencyKey();
    setCode("");
    setValues({});
    setDescription("");
    setPhotos([]);
    setWhere({ lat: "", long: "", address: "" });
    setErrors({});
    setError("");
    setStep({ kind: "form" });
  }

  function position(): { lat: number; long: number } | null {
    const lat = parseFloat(where.lat.replace(",", "."));
    const long = parseFloat(where.long.replace(",", "."));
    return Number.isFinite(lat) && Number.isFinite(long) ? { lat, long } : null;
  }

  function buildBody(): CreateRequestBody | null {
    const { answers, errors: errs } = attributeAnswers(attrs, values, t);
    const pos = position();
    if (!pos && !where.address.trim())
      errs.location = t("report.locationMissing");
    setErrors(errs);
    if (Object.keys(errs).length) {
      setError(t("report.fixErrors"));
      return null;
    }
    setError("");
    const body: CreateRequestBody = {
      service_code: code,
      description: description.trim(),
      attributes: answers,
      address: where.address.trim(),
      language: lang,
      ...(pos ?? {}),
      ...(config.jurisdiction_id
        ? { jurisdiction_id: config.jurisdiction_id }
        : {}),
    };
    if (!signed && Object.values(contact).some((x) => x.trim())) {
      body.contact = {
        first_name: contact.first_name.trim(),
        last_name: contact.last_name.trim(),
        email: contact.email.trim(),
        phone: contact.phone.trim(),
      };
    }
    return body;
  }

  async function queue(body: CreateRequestBody) {
    await enqueue({ key: key.current, body, photos, queued_at: Date.now() });
    setStep({ kind: "queued" });
  }

  async function send(body: CreateRequestBody) {
    if (navigator.onLine === false) return queue(body);
    setStep({ kind: "sending", progress: t("report.sending") });
    try {
      const request = await submitReport(
        key.current,
        body,
        photos,
        (n, total, sent, size) =>
          setStep({
            kind: "sending",
            progress: `${t("report.uploading", { n, total })} (${size ? Math.round((100 * sent) / size) : 0} %)`,
          }),
      );
      setStep({ kind: "sent", request });
    } catch (e) {
      if (isNetworkError(e)) return queue(body);
      setError(errorText(e, t));
      setStep({ kind: "form" });
    }
  }

  async function onSubmit(e: Event) {
    e.preventDefault();
    const body = buildBody();
    if (!body) {
      requestAnimationFrame(() =>
        (
          document.querySelector(
            ".field--error input, .field--error textarea, .field--error",
          ) as HTMLElement | null
        )?.focus?.(),
      );
      return;
    }
    const pos = position();
    if (pos && navigator.onLine !== false) {
      setStep({ kind: "checking" });
      try {
        const candidates = await client.requests.suggestDuplicates({
          service_code: code,
          ...pos,
        });
        if (candidates.length) {
          setStep({ kind: "duplicates", candidates });
          return;
        }
      } catch {
        // no suggestions then
      }
    }
    await send(body);
  }

  async function followInstead(id: string) {
    if (!signed) {
      navigate(`/sign-in?next=${encodeURIComponent(`/requests/${id}`)}`);
      return;
    }
    try {
      await client.requests.follow(id);
      setStep({ kind: "followed", id });
    } catch (e) {
      setError(errorText(e, t));
    }
  }

  if (services.loading && !services.data)
    return (
      <Page title={t("report.title")}>
        <Loading />
      </Page>
    );
  if (services.error && !services.data) {
    return (
      <Page title={t("report.title")}>
        <Notice kind="error">{errorText(services.error, t)}</Notice>
        <button type="button" class="button" onClick={services.reload}>
          {t("app.retry")}
        </button>
      </Page>
    );
  }

  switch (step.kind) {
    case "sent":
      return (
        <Page title={t("report.title")}>
          <Result
            text={t("report.sent")}
            href={`/requests/${step.request.request_id}`}
            linkText={t("report.view")}
            onAnother={reset}
          />
          {step.request.service_notice ? (
            <p>{step.request.service_notice}</p>
          ) : null}
        </Page>
      );
    case "queued":
      return (
        <Page title={t("report.title")}>
          <Result text={t("report.queued")} onAnother={reset} />
        </Page>
      );
    case "followed":
      return (
        <Page title={t("report.title")}>
          <Result
            text={t("report.followed")}
            href={`/requests/${step.id}`}
            linkText={t("report.view")}
            onAnother={reset}
          />
        </Page>
      );
    case "duplicates":
      return (
        <Page title={t("report.title")}>
          {error ? <Notice kind="error">{error}</Notice> : null}
          <Duplicates
            candidates={step.candidates}
            serviceName={service?.name}
            busy={false}
            onFollow={followInstead}
            onSendAnyway={() => {
              const body = buildBody();
              if (body) void send(body);
            }}
          />
        </Page>
      );
  }

  const busy = step.kind === "checking" || step.kind === "sending";
  return (
    <Page title={t("report.title")}>
      {unverified ? (
        <Notice>
          {t("auth.unverified")} <a href="/account">{t("auth.resend")}</a>
        </Notice>
      ) : null}
      <form class="form" onSubmit={onSubmit} noValidate>
        <CategoryPicker
          services={services.data ?? []}
          value={code}
          onChange={(c) => {
            setCode(c);
            setValues({});
          }}
        />
        {service ? (
          <>
            {service.service_notice ? (
              <p class="hint">{service.service_notice}</p>
            ) : null}
            {attrs.length ? (
              <fieldset class="attributes">
                <legend>{t("report.details")}</legend>
                {attrs.map((a) => (
                  <AttributeField
                    key={a.code}
                    attr={a}
                    value={values[a.code ?? ""]}
                    error={errors[a.code ?? ""]}
                    onChange={(v) =>
                      setValues({ ...values, [a.code ?? ""]: v })
                    }
                  />
                ))}
              </fieldset>
            ) : null}
            <TextArea
              label={t("report.description")}
              hint={t("report.descriptionHint")}
              maxLength={4000}
              value={description}
              onValue={setDescription}
            />
            {signed && !unverified ? (
              <PhotoPicker photos={photos} onChange={setPhotos} />
            ) : (
              <p class="hint">
                <a href="/sign-in?next=%2Freport">{t("report.photosSignIn")}</a>
              </p>
            )}
            <LocationPicker
              value={where}
              error={errors.location}
              onChange={setWhere}
            />
            {!signed ? (
              <fieldset class="contact">
                <legend>{t("report.contact")}</legend>
                <p class="hint">
                  {t("report.anonymous")} {t("report.contactHint")}
                </p>
                <TextField
                  label={t("report.firstName")}
                  autoComplete="given-name"
                  maxLength={100}
                  value={contact.first_name}
                  onValue={(x) => setContact({ ...contact, first_name: x })}
                />
                <TextField
                  label={t("report.lastName")}
                  autoComplete="family-name"
                  maxLength={100}
                  value={contact.last_name}
                  onValue={(x) => setContact({ ...contact, last_name: x })}
                />
                <TextField
                  label={t("auth.email")}
                  type="email"
                  autoComplete="email"
                  maxLength={254}
                  value={contact.email}
                  onValue={(x) => setContact({ ...contact, email: x })}
                />
                <TextField
                  label={t("report.phone")}
                  type="tel"
                  autoComplete="tel"
                  maxLength={32}
                  value={contact.phone}
                  onValue={(x) => setContact({ ...contact, phone: x })}
                />
              </fieldset>
            ) : null}
            {error ? <Notice kind="error">{error}</Notice> : null}
            {busy ? (
              <p role="status" class="progress">
                {step.kind === "sending" ? step.progress : t("report.checking")}
              </p>
            ) : null}
            <button
              type="submit"
              class="button button--primary button--big"
              disabled={busy}
            >
              {t("report.send")}
            </button>
          </>
        ) : null}
      </form>
    </Page>
  );
}
