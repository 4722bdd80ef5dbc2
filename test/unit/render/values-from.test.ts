// helm-controller's documented valuesFrom behaviour (the HelmRelease API reference: "Values
// references"): references are merged in the order given, valuesKey defaults to values.yaml, an
// optional reference to a missing object or key is skipped and a required one fails naming it.
// The parsing and merge itself (targetPath, spec.values on top) is go/render's helm_test.go.
import { describe, expect, it } from "vitest";
import { type DataLookup, resolveValuesFrom } from "../../../src/render/values-from.ts";

const objects: Record<string, Record<string, string>> = {
  "ConfigMap/base": { "values.yaml": "replicas: 1\n", "other.yaml": "x: 1\n" },
  "Secret/creds": { password: "s3cret" },
};
const lookup: DataLookup = (kind, name) => objects[`${kind}/${name}`];

describe("resolveValuesFrom", () => {
  it("keeps the order of the references, defaulting valuesKey to values.yaml", () => {
    const result = resolveValuesFrom(
      [
        { kind: "Secret", name: "creds", valuesKey: "password", targetPath: "db.password" },
        { kind: "ConfigMap", name: "base" },
        { kind: "ConfigMap", name: "base", valuesKey: "other.yaml" },
        { kind: "Secret", name: "creds", valuesKey: "password", targetPath: "raw", literal: true },
      ],
      "demo",
      lookup,
    );
    expect(result).toEqual({
      ok: true,
      layers: [
        { source: "Secret/creds", data: "s3cret", targetPath: "db.password" },
        { source: "ConfigMap/base", data: "replicas: 1\n" },
        { source: "ConfigMap/base", data: "x: 1\n" },
        { source: "Secret/creds", data: "s3cret", targetPath: "raw", literal: true },
      ],
    });
  });

  it("skips an optional reference whose object or key is missing", () => {
    const result = resolveValuesFrom(
      [
        { kind: "ConfigMap", name: "absent", optional: true },
        { kind: "ConfigMap", name: "base", valuesKey: "nope", optional: true },
      ],
      "demo",
      lookup,
    );
    expect(result).toEqual({ ok: true, layers: [] });
  });

  it("fails on a required reference, naming the object and key", () => {
    expect(resolveValuesFrom([{ kind: "Secret", name: "absent" }], "demo", lookup)).toEqual({
      ok: false,
      message: "valuesFrom Secret 'demo/absent' with key 'values.yaml': the Secret does not exist",
    });
    expect(
      resolveValuesFrom([{ kind: "ConfigMap", name: "base", valuesKey: "k" }], "demo", lookup),
    ).toEqual({
      ok: false,
      message: "valuesFrom ConfigMap 'demo/base' with key 'k': the key does not exist",
    });
  });

  it("ignores literal without targetPath, as Helm does", () => {
    const result = resolveValuesFrom(
      [{ kind: "ConfigMap", name: "base", literal: true }],
      "demo",
      lookup,
    );
    expect(result).toEqual({
      ok: true,
      layers: [{ source: "ConfigMap/base", data: "replicas: 1\n" }],
    });
  });
});
