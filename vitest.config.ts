import { defineConfig } from "vitest/config";

// Three tiers. Unit tests need nothing but Node; integration and e2e tests share one real
// cluster per run, started by test/setup/cluster.ts (or reused from CAIRN_TESTBED_KUBECONFIG).
export default defineConfig({
  test: {
    // Always write a machine-readable report: .ci/run computes its summary line from it.
    reporters: ["default", ["json", { outputFile: ".reports/vitest.json" }]],
    projects: [
      {
        test: {
          name: "unit",
          include: ["test/unit/**/*.test.ts", "testbed/test/unit/**/*.test.ts"],
        },
      },
      {
        test: {
          name: "integration",
          include: ["test/integration/**/*.test.ts", "testbed/test/integration/**/*.test.ts"],
          globalSetup: ["test/setup/cluster.ts"],
          testTimeout: 120_000,
          hookTimeout: 180_000,
        },
      },
      {
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts", "testbed/test/e2e/**/*.test.ts"],
          globalSetup: ["test/setup/cluster.ts"],
          testTimeout: 300_000,
          hookTimeout: 300_000,
        },
      },
    ],
  },
});
