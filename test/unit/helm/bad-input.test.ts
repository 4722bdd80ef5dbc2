// The bad inputs of issue 5, section 1, each derived from the captured revision 1 Secret and taken
// through the whole pure path (Secret → release → manifest → object references): every one ends in
// a typed error value, none in an exception.
import { randomBytes } from "node:crypto";
import { gzip } from "pako";
import { describe, expect, it } from "vitest";
import { parseManifest } from "../../../src/discovery/manifests.ts";
import { decodeReleaseSecret } from "../../../src/helm/secret.ts";
import type { KubeObject } from "../../../src/kube/client.ts";
import { captured, derive } from "../../fixtures/load.ts";
import { apiLayer, encodeRelease, releaseData, releaseJson, withRelease } from "./encode.ts";

const FILE = "helm-secret-v1.json";

/** The pipeline discovery runs on a release Secret; the code of the first error, or the refs. */
function refsOf(secret: KubeObject) {
  const decoded = decodeReleaseSecret(secret);
  if (!decoded.ok) return { stage: "release", code: decoded.error.code } as const;
  const refs = parseManifest(decoded.release.manifest, decoded.release.namespace);
  if (!refs.ok) return { stage: "manifest", code: refs.error.code } as const;
  return { stage: "ok", refs: refs.refs } as const;
}

function withManifest(manifest: string): KubeObject {
  const json = derive(releaseJson(captured(FILE)), (j) => (j["manifest"] = manifest));
  return withRelease(FILE, encodeRelease(json));
}

const ALIAS_BOMB = [
  "apiVersion: v1",
  "kind: ConfigMap",
  "metadata: {name: lol}",
  "data:",
  '  a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
  "  b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]",
  "  c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]",
  "  d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]",
  "  e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]",
  "  f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]",
  "  g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]",
].join("\n");

describe("bad release Secrets derived from the captured one", () => {
  it("the captured Secret itself goes through", () => {
    const result = refsOf(captured(FILE));
    expect(result.stage).toBe("ok");
    expect(result.stage === "ok" && result.refs).toHaveLength(5);
  });

  it.each([
    [
      "invalid base64",
      () =>
        withRelease(
          FILE,
          `${releaseData(captured(FILE)).slice(0, 100)}#${releaseData(captured(FILE)).slice(101)}`,
        ),
      { stage: "release", code: "InvalidBase64" },
    ],
    [
      "bad gzip",
      () => {
        const packed = gzip(new TextEncoder().encode(JSON.stringify(releaseJson(captured(FILE)))));
        packed.fill(0xaa, 40, 80);
        return withRelease(FILE, apiLayer(packed));
      },
      { stage: "release", code: "BadGzip" },
    ],
    [
      "truncated JSON",
      () => {
        const text = JSON.stringify(releaseJson(captured(FILE)));
        return withRelease(
          FILE,
          apiLayer(gzip(new TextEncoder().encode(text.slice(0, text.length / 2)))),
        );
      },
      { stage: "release", code: "InvalidJson" },
    ],
    [
      "a manifest that is not YAML",
      () =>
        withManifest("---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: x\n  data: [unclosed"),
      { stage: "manifest", code: "InvalidYaml" },
    ],
    [
      "a YAML alias bomb",
      () => withManifest(ALIAS_BOMB),
      { stage: "manifest", code: "TooManyAliases" },
    ],
    [
      "a 10 MB release",
      () => {
        const json = derive(releaseJson(captured(FILE)), (j) => {
          j["manifest"] = randomBytes(7_500_000).toString("base64");
        });
        return withRelease(FILE, encodeRelease(json));
      },
      { stage: "release", code: "TooLarge" },
    ],
  ] as const)(
    "%s → a typed error, no exception",
    (_what, make, expected) => {
      const secret = make();
      let result: ReturnType<typeof refsOf> | undefined;
      expect(() => (result = refsOf(secret))).not.toThrow();
      expect(result).toEqual(expected);
      // The 10 MB fixture alone takes seconds to build on a busy 2-CPU machine.
    },
    30_000,
  );
});
