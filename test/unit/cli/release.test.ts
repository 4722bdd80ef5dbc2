import { describe, expect, it } from "vitest";
import { krewManifest, parsePlatforms, PLATFORMS } from "../../../scripts/release-cli.ts";

describe("the release script", () => {
  it("builds Linux amd64 and arm64, and names an unknown platform", () => {
    expect(PLATFORMS.map((p) => `${p.os}-${p.arch}`)).toEqual(["linux-amd64", "linux-arm64"]);
    expect(parsePlatforms("linux-arm64")).toEqual([{ os: "linux", arch: "arm64" }]);
    expect(() => parsePlatforms("darwin-arm64")).toThrow(
      'unknown platform "darwin-arm64"; known: linux-amd64, linux-arm64',
    );
  });

  it("writes a krew Plugin manifest with one platform per archive", () => {
    const manifest = krewManifest("1.2.3", "https://dl.example/v1.2.3", [
      { platform: { os: "linux", arch: "arm64" }, file: "a.tar.gz", sha256: "ab".repeat(32) },
    ]);
    expect(manifest).toMatchObject({
      apiVersion: "krew.googlecontainertools.github.com/v1alpha2",
      kind: "Plugin",
      metadata: { name: "cairn" },
      spec: {
        version: "v1.2.3",
        platforms: [
          {
            selector: { matchLabels: { os: "linux", arch: "arm64" } },
            uri: "https://dl.example/v1.2.3/a.tar.gz",
            sha256: "ab".repeat(32),
            bin: "kubectl-cairn",
          },
        ],
      },
    });
  });
});
