// Where a ManagedApp's references point, with a missing namespace meaning the app's own. Shared
// by the ManagedApp controller and the request controllers, so it sits below both.
import type { ManagedApp } from "../api/index.ts";

export interface RefTarget {
  readonly namespace: string;
  readonly name: string;
}

export interface AppRefs {
  readonly kustomization: RefTarget;
  readonly helmRelease: RefTarget | undefined;
}

export interface SuspendTarget extends RefTarget {
  readonly kind: "Kustomization" | "HelmRelease";
}

export function refsOf(app: ManagedApp): AppRefs & { readonly suspend: SuspendTarget | undefined } {
  const ns = app.metadata.namespace ?? "";
  const { kustomizationRef, helmReleaseRef, suspendRef } = app.spec;
  return {
    kustomization: { namespace: kustomizationRef.namespace ?? ns, name: kustomizationRef.name },
    helmRelease: helmReleaseRef
      ? { namespace: helmReleaseRef.namespace ?? ns, name: helmReleaseRef.name }
      : undefined,
    suspend: suspendRef
      ? { kind: suspendRef.kind, namespace: suspendRef.namespace ?? ns, name: suspendRef.name }
      : undefined,
  };
}
