// Plan's check of Helm's storage (pure): an upgrade is never committed over a release that Helm
// itself cannot act on. A newest revision left pending-* blocks every Helm action, so Flux would
// apply Cairn's commit to a release that never moves; a release Secret that does not decode hides
// what the newest revision is. Both are refused before any side effect, with the way out.
import type { PreflightCheck } from "../../api/index.ts";
import { releaseSecretName } from "../managedapp/sources.ts";
import type { ReleaseStorageView } from "../managedapp/release-storage.ts";

export const RELEASE_STORAGE_CHECK = "HelmReleaseStorage";

const check = (passed: boolean, message: string): PreflightCheck => ({
  name: RELEASE_STORAGE_CHECK,
  passed,
  message: message.slice(0, 1024),
});

/** The check for an app with a HelmRelease; undefined for an app without one. */
export function releaseStorageCheck(
  view: ReleaseStorageView | undefined,
): PreflightCheck | undefined {
  if (view === undefined) return undefined;
  if (view.kind === "unavailable") return check(false, `${view.reason}: ${view.message}`);
  const { location, selection } = view;
  const where = `Helm release ${location.name} (Secrets in namespace ${location.storageNamespace})`;
  const blocking = selection.problems.filter((p) => p.code !== "FailedRelease");
  if (blocking.length > 0) {
    const said = blocking.map((p) => {
      switch (p.code) {
        case "UnreadableRevision":
          return `${p.message}; Helm cannot read it either: repair or delete that Secret before upgrading`;
        case "PendingRelease":
          return `${p.message}, then let Flux reconcile the HelmRelease before upgrading`;
        default:
          return p.message;
      }
    });
    return check(false, `${where}: ${said.join("; ")}`);
  }
  const current = selection.current;
  return check(
    true,
    current
      ? `${where}: revision ${current.version} deployed (Secret ${location.storageNamespace}/${releaseSecretName(current.name, current.version)}), nothing pending`
      : `${where}: readable`,
  );
}
