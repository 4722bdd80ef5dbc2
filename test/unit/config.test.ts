import { describe, expect, it } from "vitest";
import {
  describeFlags,
  formatAddress,
  loadConfig,
  parseAddress,
  parseDurationMs,
  type Config,
  type ConfigResult,
  type Env,
} from "../../src/config.ts";

const HOST = { hostname: "workstation" };

function load(args: string[] = [], env: Env = {}): ConfigResult {
  return loadConfig(args, env, HOST);
}

function ok(args: string[] = [], env: Env = {}): Config {
  const result = load(args, env);
  if (!result.ok) throw new Error(`expected a valid config, got:\n${result.message}`);
  return result.config;
}

function problems(args: string[] = [], env: Env = {}): string[] {
  const result = load(args, env);
  if (result.ok) throw new Error("expected an invalid config");
  const [head, ...lines] = result.message.split("\n");
  expect(head).toBe("invalid configuration:");
  return lines.map((line) => line.replace(/^ {2}- /, ""));
}

describe("loadConfig", () => {
  it("gives the documented defaults with no flags and no environment", () => {
    expect(ok()).toEqual({
      namespace: "cairn-system",
      podName: "workstation",
      metricsAddr: { host: "0.0.0.0", port: 8080 },
      healthAddr: { host: "0.0.0.0", port: 8081 },
      logLevel: "info",
      leaderElect: true,
      leaseName: "cairn-controller",
      leaseDurationSeconds: 35,
      renewDeadlineSeconds: 30,
      retryPeriodSeconds: 5,
      workers: 2,
      maxAutoUpgrades: 1,
      allowCrossNamespaceRefs: false,
      shutdownTimeoutSeconds: 30,
      gitCacheDir: "/tmp/cairn-git",
      gitAuthorName: "Cairn",
      gitAuthorEmail: "cairn@cairn.dev",
      suspendedWarningAfterMs: 30 * 60_000,
    });
  });

  it("leaves kubeconfig unset by default, so the client falls back to in-cluster config", () => {
    expect("kubeconfig" in ok()).toBe(false);
    expect(ok(["--kubeconfig=/etc/kube/config"]).kubeconfig).toBe("/etc/kube/config");
  });

  it("reads every setting from flags, in both --name=value and --name value form", () => {
    const config = ok([
      "--namespace=ops",
      "--pod-name",
      "cairn-7d9f-x2",
      "--kubeconfig",
      "/tmp/kc",
      "--metrics-addr=127.0.0.1:9090",
      "--health-addr",
      "[::1]:9091",
      "--log-level=debug",
      "--leader-elect=false",
      "--lease-name=cairn-test",
      "--lease-duration-seconds=60",
      "--renew-deadline-seconds=40",
      "--retry-period-seconds=10",
      "--workers=8",
      "--max-auto-upgrades=3",
      "--allow-cross-namespace-refs",
      "--shutdown-timeout-seconds=5",
      "--git-cache-dir=/var/cache/cairn",
      "--git-author-name=Bot",
      "--git-author-email=bot@example.com",
      "--watch-label-selector=team=a",
      "--failpoint=UpgradeRequest/Commit",
      "--failpoint-action=stop",
      "--suspended-warning-after=1h30m",
      "--render-helper=/usr/local/bin/cairn-render",
    ]);
    expect(config).toEqual({
      namespace: "ops",
      podName: "cairn-7d9f-x2",
      kubeconfig: "/tmp/kc",
      metricsAddr: { host: "127.0.0.1", port: 9090 },
      healthAddr: { host: "::1", port: 9091 },
      logLevel: "debug",
      leaderElect: false,
      leaseName: "cairn-test",
      leaseDurationSeconds: 60,
      renewDeadlineSeconds: 40,
      retryPeriodSeconds: 10,
      workers: 8,
      maxAutoUpgrades: 3,
      allowCrossNamespaceRefs: true,
      shutdownTimeoutSeconds: 5,
      gitCacheDir: "/var/cache/cairn",
      gitAuthorName: "Bot",
      gitAuthorEmail: "bot@example.com",
      watchLabelSelector: "team=a",
      failpoint: "UpgradeRequest/Commit",
      failpointAction: "stop",
      suspendedWarningAfterMs: 90 * 60_000,
      renderHelper: "/usr/local/bin/cairn-render",
    });
  });

  it("reads every setting from CAIRN_ environment variables", () => {
    const config = ok([], {
      CAIRN_NAMESPACE: "ops",
      CAIRN_POD_NAME: "p",
      CAIRN_KUBECONFIG: "/kc",
      CAIRN_METRICS_ADDR: ":9090",
      CAIRN_HEALTH_ADDR: "localhost:9091",
      CAIRN_LOG_LEVEL: "warn",
      CAIRN_LEADER_ELECT: "false",
      CAIRN_LEASE_NAME: "l",
      CAIRN_LEASE_DURATION_SECONDS: "20",
      CAIRN_RENEW_DEADLINE_SECONDS: "15",
      CAIRN_RETRY_PERIOD_SECONDS: "2",
      CAIRN_WORKERS: "4",
      CAIRN_ALLOW_CROSS_NAMESPACE_REFS: "true",
      CAIRN_SHUTDOWN_TIMEOUT_SECONDS: "12",
      CAIRN_SUSPENDED_WARNING_AFTER: "45s",
    });
    expect(config).toMatchObject({
      namespace: "ops",
      podName: "p",
      kubeconfig: "/kc",
      metricsAddr: { host: "", port: 9090 },
      healthAddr: { host: "localhost", port: 9091 },
      logLevel: "warn",
      leaderElect: false,
      leaseName: "l",
      leaseDurationSeconds: 20,
      renewDeadlineSeconds: 15,
      retryPeriodSeconds: 2,
      workers: 4,
      allowCrossNamespaceRefs: true,
      shutdownTimeoutSeconds: 12,
      suspendedWarningAfterMs: 45_000,
    });
  });

  it("takes the namespace and pod name from the downward API variables", () => {
    const config = ok([], { POD_NAMESPACE: "cairn", POD_NAME: "cairn-abc" });
    expect(config.namespace).toBe("cairn");
    expect(config.podName).toBe("cairn-abc");
  });

  it("lets a flag win over CAIRN_ variables, and those over the downward API", () => {
    const env = {
      CAIRN_METRICS_ADDR: "127.0.0.1:1111",
      CAIRN_NAMESPACE: "from-cairn-env",
      POD_NAMESPACE: "from-pod-env",
    };
    expect(ok(["--metrics-addr=127.0.0.1:8080"], env).metricsAddr).toEqual({
      host: "127.0.0.1",
      port: 8080,
    });
    expect(ok([], env).namespace).toBe("from-cairn-env");
    expect(ok(["--namespace=from-flag"], env).namespace).toBe("from-flag");
  });

  it("treats an empty environment variable as unset", () => {
    expect(ok([], { CAIRN_LOG_LEVEL: "", POD_NAMESPACE: "" })).toMatchObject({
      logLevel: "info",
      namespace: "cairn-system",
    });
  });

  it("switches a bare boolean flag on without consuming the next argument", () => {
    const config = ok(["--leader-elect", "--workers", "3"]);
    expect(config.leaderElect).toBe(true);
    expect(config.workers).toBe(3);
  });

  it("accepts the usual spellings of booleans", () => {
    expect(ok(["--leader-elect=FALSE"]).leaderElect).toBe(false);
    expect(ok(["--leader-elect=0"]).leaderElect).toBe(false);
    expect(ok([], { CAIRN_ALLOW_CROSS_NAMESPACE_REFS: "yes" }).allowCrossNamespaceRefs).toBe(true);
  });

  it("returns a deeply frozen config", () => {
    const config = ok();
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.metricsAddr)).toBe(true);
    expect(() => {
      (config as { workers: number }).workers = 9;
    }).toThrow(TypeError);
  });

  it("reports every bad field in one message, naming where each value came from", () => {
    const found = problems(["--metrics-addr=localhost", "--workers", "0", "--leader-elect=maybe"], {
      CAIRN_LOG_LEVEL: "loud",
      POD_NAMESPACE: "Not_A_Namespace",
      CAIRN_SHUTDOWN_TIMEOUT_SECONDS: "-1",
    });
    expect(found).toEqual([
      'namespace (POD_NAMESPACE="Not_A_Namespace"): must be a namespace name (a DNS label)',
      'metricsAddr (--metrics-addr="localhost"): must be host:port (e.g. 0.0.0.0:8080, [::1]:8080 or :8080) with a port up to 65535',
      'logLevel (CAIRN_LOG_LEVEL="loud"): must be one of trace, debug, info, warn, error',
      'leaderElect (--leader-elect="maybe"): must be true or false',
      'workers (--workers="0"): must be a whole number from 1 to 64',
      'shutdownTimeoutSeconds (CAIRN_SHUTDOWN_TIMEOUT_SECONDS="-1"): must be a whole number from 1 to 3600',
    ]);
  });

  it("reports unknown flags, stray arguments, missing values and repeated flags", () => {
    expect(
      problems(["--metrics", "x", "--log-level", "--workers=2", "--workers=3", "--", "extra"]),
    ).toEqual([
      "unknown flag --metrics",
      'unexpected argument "x": flags look like --name=value',
      "--log-level needs a value",
      "--workers is given more than once",
      'unexpected argument "--": flags look like --name=value',
      'unexpected argument "extra": flags look like --name=value',
    ]);
  });

  it("rejects the node binary and script path, so main must pass argv without them", () => {
    expect(problems(["/usr/bin/node", "/app/src/main.ts"])).toHaveLength(2);
  });

  it("checks the leader-election timings against each other, as client-go does", () => {
    expect(problems(["--lease-duration-seconds=30"])).toEqual([
      'renewDeadlineSeconds (default "30"): must be less than leaseDurationSeconds (30)',
    ]);
    expect(problems(["--retry-period-seconds=30", "--renew-deadline-seconds=30"])).toEqual([
      'retryPeriodSeconds (--retry-period-seconds="30"): must be less than renewDeadlineSeconds (30)',
    ]);
  });

  it("still checks rules between fields when an unrelated field is bad", () => {
    expect(problems(["--log-level=loud", "--health-addr=:8080"])).toEqual([
      'logLevel (--log-level="loud"): must be one of trace, debug, info, warn, error',
      'healthAddr (--health-addr=":8080"): must not be the same listener as metricsAddr (0.0.0.0:8080)',
    ]);
  });

  it("allows metrics and health on one port of different hosts, and port 0 twice", () => {
    expect(
      ok(["--metrics-addr=127.0.0.1:8080", "--health-addr=127.0.0.2:8080"]).healthAddr,
    ).toEqual({ host: "127.0.0.2", port: 8080 });
    expect(ok(["--metrics-addr=127.0.0.1:0", "--health-addr=127.0.0.1:0"]).metricsAddr.port).toBe(
      0,
    );
  });

  it("rejects names Kubernetes would reject", () => {
    expect(problems(["--lease-name=Cairn_Lease"])).toEqual([
      'leaseName (--lease-name="Cairn_Lease"): must be a Lease name (a DNS subdomain)',
    ]);
    expect(problems(["--pod-name="])).toEqual(['podName (--pod-name=""): must not be empty']);
    expect(problems([`--pod-name=${"p".repeat(129)}`])[0]).toMatch(/at most 128 characters$/);
  });

  it("names every flag with its environment variables in the usage text", () => {
    const usage = describeFlags();
    expect(usage).toContain("--namespace=VALUE (env CAIRN_NAMESPACE, POD_NAMESPACE)");
    expect(usage).toContain("--leader-elect[=true|false] (env CAIRN_LEADER_ELECT)");
    expect(usage).toContain("--max-auto-upgrades=VALUE (env CAIRN_MAX_AUTO_UPGRADES)");
    expect(usage).toContain("--events-addr=VALUE (env CAIRN_EVENTS_ADDR)");
    expect(usage.split("\n")).toHaveLength(24);
  });

  it("takes the rendering helper from CAIRN_RENDER_HELPER, as an absolute path only", () => {
    expect(ok([], { CAIRN_RENDER_HELPER: "/bin/cairn-render" }).renderHelper).toBe(
      "/bin/cairn-render",
    );
    expect(ok([]).renderHelper).toBeUndefined();
    expect(problems(["--render-helper=cairn-render"])).toEqual([
      'renderHelper (--render-helper="cairn-render"): must be an absolute path to the cairn-render binary',
    ]);
  });

  it("takes Flux's event address as an http(s) URL without credentials, off by default", () => {
    expect(ok([]).eventsAddr).toBeUndefined();
    const url = "http://notification-controller.flux-system.svc.cluster.local./";
    expect(ok([`--events-addr=${url}`]).eventsAddr).toBe(url);
    expect(ok([], { CAIRN_EVENTS_ADDR: "https://127.0.0.1:9090/" }).eventsAddr).toBe(
      "https://127.0.0.1:9090/",
    );
    for (const bad of ["notification-controller:9090", "ftp://x/", "http://user:pw@host/"])
      expect(problems([`--events-addr=${bad}`])[0]).toMatch(
        /^eventsAddr \(--events-addr=.*\): must be an http\(s\) URL/,
      );
  });
});

describe("the suspended-warning duration", () => {
  it.each([
    ["45s", 45_000],
    ["30m", 1_800_000],
    ["1h30m", 5_400_000],
    ["2h0m5s", 7_205_000],
  ])("reads %s as %i ms", (text, ms) => {
    expect(parseDurationMs(text)).toBe(ms);
  });

  it.each(["", "30", "1.5h", "5ms", "m", "30m1h", "-5m", " 30m"])("rejects %j", (text) => {
    expect(parseDurationMs(text)).toBeUndefined();
  });

  it("refuses durations outside 1s to 720h, naming the flag", () => {
    expect(problems(["--suspended-warning-after=0s"])).toEqual([
      'suspendedWarningAfterMs (--suspended-warning-after="0s"): must be a duration such as 30m, 1h30m or 45s, from 1s to 720h',
    ]);
    expect(problems(["--suspended-warning-after=721h"])).toHaveLength(1);
    expect(ok(["--suspended-warning-after=720h"]).suspendedWarningAfterMs).toBe(720 * 3_600_000);
  });
});

describe("parseAddress", () => {
  it.each([
    ["0.0.0.0:8080", { host: "0.0.0.0", port: 8080 }],
    [":8080", { host: "", port: 8080 }],
    ["[::]:9000", { host: "::", port: 9000 }],
    ["[fe80::1]:1", { host: "fe80::1", port: 1 }],
    ["metrics.local:65535", { host: "metrics.local", port: 65535 }],
    ["127.0.0.1:0", { host: "127.0.0.1", port: 0 }],
  ])("accepts %s", (text, address) => {
    expect(parseAddress(text)).toEqual({ ok: true, address });
  });

  it.each([
    "8080",
    "localhost",
    "localhost:",
    "host:65536",
    "host:-1",
    "::1:8080",
    "[not-ipv6]:80",
    "999.1.1.1:80",
    "bad_host:80",
    "http://x:80",
    "0.0.0.0:8080 ",
  ])("rejects %j", (text) => {
    expect(parseAddress(text)).toEqual({ ok: false });
  });

  it("formats what it parses back to the same text", () => {
    for (const text of ["0.0.0.0:8080", "[::1]:9000", ":80"]) {
      const parsed = parseAddress(text);
      if (!parsed.ok) throw new Error(`did not parse ${text}`);
      expect(formatAddress(parsed.address)).toBe(text);
    }
  });
});

describe("request-controller flags", () => {
  it("refuses a label selector it cannot parse and a failpoint of an unknown kind", () => {
    const bad = loadConfig(
      ["--watch-label-selector=a in ()", "--failpoint=Pod/Commit"],
      {},
      { hostname: "h" },
    );
    expect(bad.ok).toBe(false);
    if (bad.ok) return;
    expect(bad.message).toContain("watchLabelSelector");
    expect(bad.message).toContain("failpoint");
  });

  it("refuses a failpoint action other than kill or stop", () => {
    const bad = loadConfig(["--failpoint-action=pause"], {}, { hostname: "h" });
    expect(bad.ok).toBe(false);
    if (bad.ok) return;
    expect(bad.message).toContain("failpointAction");
    expect(bad.message).toContain("must be kill or stop");
  });

  it("takes set-based selectors, as Flux's sharding does", () => {
    const good = loadConfig(
      ["--watch-label-selector=sharding.fluxcd.io/key in (shard1,shard2)"],
      {},
      { hostname: "h" },
    );
    expect(good.ok).toBe(true);
    if (!good.ok) return;
    expect(good.config.watchLabelSelector).toBe("sharding.fluxcd.io/key in (shard1,shard2)");
  });
});
