// Compile-time checks: the names the SDK gives the API's objects resolve to real types (a route
// renamed in the OpenAPI document would turn them into `never`, and tsc fails here).
import assert from "node:assert/strict";
import { it } from "node:test";
import type * as sdk from "../../src/index.js";

type IsNever<T> = [T] extends [never] ? true : false;
type Real<T> = IsNever<T> extends true ? "never" : "ok";
type Check<T extends "ok"> = T;

export type Checks = [
  Check<Real<sdk.Account>>,
  Check<Real<sdk.RegisterBody>>,
  Check<Real<sdk.UpdateMeBody>>,
  Check<Real<sdk.PersonalDataExport>>,
  Check<Real<sdk.TokenPair>>,
  Check<Real<sdk.Service>>,
  Check<Real<sdk.Media>>,
  Check<Real<sdk.Request>>,
  Check<Real<sdk.CreateRequestBody>>,
  Check<Real<sdk.RequestFilters>>,
  Check<Real<sdk.Comment>>,
  Check<Real<sdk.FollowState>>,
  Check<Real<sdk.TransitionBody>>,
  Check<Real<sdk.Notification>>,
  Check<Real<sdk.NotificationListQuery>>,
  Check<Real<sdk.NotificationPreferences>>,
  Check<Real<sdk.Device>>,
  Check<Real<sdk.RegisterDeviceBody>>,
];

// Field names the SDK itself relies on.
const fields: Array<
  keyof sdk.Request | keyof sdk.Notification | keyof sdk.Media
> = ["request_id", "notification_id", "media_id"];

it("the API's object types resolve", () => {
  assert.equal(fields.length, 3);
});

// The README's examples type-check (never run).
export async function readmeExamples(api: sdk.CityhubClient): Promise<void> {
  await api.requests.create({
    service_code: "pothole",
    lat: 52.0211,
    long: 8.5325,
    attributes: { surface: "road" },
  });
  for await (const r of api.requests.list({
    service_code: ["pothole"],
    status: ["SUBMITTED"],
  })) {
    const s: string = r.status;
    void s;
  }
  for await (const n of api.notifications.stream({
    signal: new AbortController().signal,
  })) {
    const title: string = n.title;
    void title;
  }
  const media = await api.media.upload(new Uint8Array(1), "image/jpeg", {
    onProgress: (sent, total) => void (sent / total),
  });
  const id: string = media.media_id;
  void id;
}
