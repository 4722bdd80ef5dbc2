import { describe, expect, it } from "vitest";
import { parseBuildOutput } from "../../src/binaries.ts";

describe("parseBuildOutput", () => {
  it("reads the component map from the last line", () => {
    expect(parseBuildOutput('{"kube":"/c/kube-x","kwok":"/c/kwok-y"}\n')).toEqual({
      kube: "/c/kube-x",
      kwok: "/c/kwok-y",
    });
  });

  it("names what it got when the map is missing or incomplete", () => {
    expect(() => parseBuildOutput("")).toThrow(/printed no binary map/);
    expect(() => parseBuildOutput('{"kube":"/c"}')).toThrow(
      /printed no binary map \(got "\{\\"kube/,
    );
  });
});
