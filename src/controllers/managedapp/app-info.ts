// The facts cairn_app_info carries for one app, from the status the reconcile just wrote. Pure.
import type { AppInfo } from "../../metrics.ts";

export function appInfo(
  status: { readonly currentVersion?: unknown; readonly availableUpdate?: unknown },
  frozen: boolean,
): AppInfo {
  const version = typeof status.currentVersion === "string" ? status.currentVersion : "";
  const update = typeof status.availableUpdate === "string" ? status.availableUpdate : "";
  return { version, updateAvailable: update !== "" && update !== version, frozen };
}
