import { describe, expect, it } from "vitest";
import { slimSource } from "../../../src/controllers/managedapp/slim-source.ts";
import type { WatchEvent } from "../../../src/kube/client.ts";
import { captured } from "../../fixtures/load.ts";

describe("slimSource", () => {
  const pod = captured("deployment.json");

  it("drops managedFields from listed and watched objects, and keeps everything else", async () => {
    expect(pod.metadata["managedFields"]).toBeDefined();
    const events: WatchEvent[] = [
      { type: "MODIFIED", object: pod },
      { type: "BOOKMARK", resourceVersion: "9" },
    ];
    const slim = slimSource({
      list: () => Promise.resolve({ items: [pod], resourceVersion: "7" }),
      watch: async function* () {
        for (const e of events) yield await Promise.resolve(e);
      },
    });
    const listed = await slim.list("apps/v1", "Deployment");
    expect(listed.resourceVersion).toBe("7");
    const [item] = listed.items;
    expect(item?.metadata["managedFields"]).toBeUndefined();
    const { managedFields, ...rest } = pod.metadata;
    expect(managedFields).toBeDefined();
    expect(item).toEqual({ ...pod, metadata: rest });
    const seen: WatchEvent[] = [];
    for await (const e of slim.watch("apps/v1", "Deployment")) seen.push(e);
    expect(seen).toEqual([
      { type: "MODIFIED", object: { ...pod, metadata: rest } },
      { type: "BOOKMARK", resourceVersion: "9" },
    ]);
    // The source's own object is left as it was.
    expect(pod.metadata["managedFields"]).toBeDefined();
  });
});
