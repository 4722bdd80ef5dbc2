import { describe, expect, it } from "vitest";
import { appInfo } from "../../../src/controllers/managedapp/app-info.ts";

describe("appInfo", () => {
  it("reports the current version and an available update that differs from it", () => {
    expect(appInfo({ currentVersion: "1.0.0", availableUpdate: "1.1.0" }, false)).toEqual({
      version: "1.0.0",
      updateAvailable: true,
      frozen: false,
    });
    expect(appInfo({ currentVersion: "1.1.0", availableUpdate: "1.1.0" }, true)).toEqual({
      version: "1.1.0",
      updateAvailable: false,
      frozen: true,
    });
    expect(appInfo({}, false)).toEqual({ version: "", updateAvailable: false, frozen: false });
  });
});
