// --events-addr: every Event Cairn records on a ManagedApp (an upgrade or rollback started or
// ended, an automatic upgrade started, an update available, health and version changes) also goes
// to Flux's notification-controller, as an event about the app's HelmRelease, or its
// Kustomization when it has none. notification-controller matches events by involved object, so
// the Alerts a team already has for that HelmRelease or Kustomization deliver Cairn's events to
// their Slack, Teams or webhook Provider with no new configuration (docs/notifications.md).
import { API_VERSION, Kind, ManagedApp } from "../api/index.ts";
import type { KubeApi } from "../kube/client.ts";
import { isKubeError } from "../kube/errors.ts";
import type { RecordedEvent } from "../runtime/events.ts";
import { fluxEventBody, type FluxEvent, type FluxNotifier } from "../runtime/flux-notifier.ts";
import type { LogFn } from "../runtime/log.ts";
import { toError } from "../runtime/outcome.ts";
import { FLUX_API } from "./request/flux.ts";

export const REPORTING_CONTROLLER = "cairn";

/** The Flux object an app's notifications are about (pure): its HelmRelease, else its Kustomization. */
export function notifiedObject(app: ManagedApp): FluxEvent["involvedObject"] {
  const namespace = app.metadata.namespace ?? "";
  const release = app.spec.helmReleaseRef;
  const kind = release ? "HelmRelease" : "Kustomization";
  const ref = release ?? app.spec.kustomizationRef;
  return {
    apiVersion: FLUX_API[kind],
    kind,
    namespace: ref.namespace ?? namespace,
    name: ref.name,
  };
}

/** The event notification-controller gets for one Event on a ManagedApp (pure). */
export function appNotification(
  app: ManagedApp,
  event: RecordedEvent,
  instance: string,
): FluxEvent {
  const involvedObject = notifiedObject(app);
  const group = involvedObject.apiVersion.split("/")[0] ?? "";
  return fluxEventBody({
    involvedObject,
    severity: event.type === "Warning" ? "error" : "info",
    at: event.at,
    reason: event.reason,
    message: `ManagedApp ${app.metadata.name}: ${event.note}`,
    // Providers see these without the group prefix: managedapp, action.
    metadata: {
      [`${group}/managedapp`]: `${app.metadata.namespace ?? ""}/${app.metadata.name}`,
      [`${group}/action`]: event.action,
    },
    reportingController: REPORTING_CONTROLLER,
    reportingInstance: instance,
  });
}

/**
 * The recorder's `forward` hook: events about ManagedApps go to the notifier; the rest (a
 * request's step-by-step Events) stay in the cluster. The app is read at once, so the Flux object
 * named is the one the app names when the event happens.
 */
export function forwardAppEvents(opts: {
  readonly client: KubeApi;
  readonly notifier: FluxNotifier;
  readonly instance: string;
  readonly log: LogFn;
}): (event: RecordedEvent) => void {
  return (event) => {
    const r = event.regarding;
    if (r.apiVersion !== API_VERSION || r.kind !== Kind.ManagedApp || !r.namespace) return;
    opts.client
      .get({ apiVersion: API_VERSION, kind: Kind.ManagedApp, namespace: r.namespace, name: r.name })
      .then((obj) => {
        const app = ManagedApp.safeParse(obj);
        if (!app.success) return;
        opts.notifier.post(appNotification(app.data, event, opts.instance));
      })
      .catch((err: unknown) => {
        // A deleted app has nobody left to tell.
        if (isKubeError(err, "NotFound")) return;
        opts.log("warn", "could not read a ManagedApp to notify about it", {
          managedApp: `${r.namespace}/${r.name}`,
          reason: event.reason,
          err: toError(err),
        });
      });
  };
}
