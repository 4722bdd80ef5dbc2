import { describe, expect, it } from "vitest";
import {
  classifyGitStderr,
  gitErrorFrom,
  GitError,
  isGitError,
  maskSecrets,
  summarizeStderr,
  type GitErrorCode,
} from "../../../src/git/errors.ts";

// Captured from git 2.39.5 (Debian bookworm, as in the controller image) and OpenSSH 9.2p1,
// against the test bed's smart-HTTP server and a local sshd, with LC_ALL=C.
const SAMPLES: Record<string, { stderr: string; code: GitErrorCode }> = {
  "HTTP wrong password (401, no prompt allowed)": {
    stderr:
      "fatal: could not read Username for 'http://127.0.0.1:43997': terminal prompts disabled\n",
    code: "auth",
  },
  "HTTP push by a read-only user": {
    stderr:
      "remote: forbidden\nfatal: unable to access 'http://127.0.0.1:43997/zz-sample-probe.git/': The requested URL returned error: 403\n",
    code: "forbidden",
  },
  "HTTP repository that does not exist": {
    stderr: "fatal: repository 'http://127.0.0.1:43997/nope.git/' not found\n",
    code: "not-found",
  },
  "branch that does not exist": {
    stderr: "fatal: couldn't find remote ref refs/heads/main\n",
    code: "not-found",
  },
  "connection refused": {
    stderr:
      "fatal: unable to access 'http://127.0.0.1:1/x.git/': Failed to connect to 127.0.0.1 port 1 after 0 ms: Couldn't connect to server\n",
    code: "network",
  },
  "unknown host": {
    stderr:
      "fatal: unable to access 'http://nonexistent.invalid/x.git/': Could not resolve host: nonexistent.invalid\n",
    code: "network",
  },
  "non-fast-forward push": {
    stderr: [
      "To http://127.0.0.1:43997/zz-sample-probe.git",
      " ! [rejected]        fd1baa6394097f879d56788e88c3501b1700d66a -> main (non-fast-forward)",
      "error: failed to push some refs to 'http://127.0.0.1:43997/zz-sample-probe.git'",
      "hint: Updates were rejected because a pushed branch tip is behind its remote",
      "hint: counterpart. Check out this branch and integrate the remote changes",
      "hint: (e.g. 'git pull ...') before pushing again.",
      "hint: See the 'Note about fast-forwards' in 'git push --help' for details.",
    ].join("\n"),
    code: "non-fast-forward",
  },
  "porcelain non-fast-forward line": {
    stderr:
      "!\tfd1baa6394097f879d56788e88c3501b1700d66a:refs/heads/main\t[rejected] (non-fast-forward)\n",
    code: "non-fast-forward",
  },
  "push of a non-commit": {
    stderr: [
      "To http://127.0.0.1:43997/zz-sample-probe.git",
      " ! [rejected]        1234567890123456789012345678901234567890 -> main (needs force)",
      "error: failed to push some refs to 'http://127.0.0.1:43997/zz-sample-probe.git'",
    ].join("\n"),
    code: "failed",
  },
  "SSH host key changed": {
    stderr: [
      "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@",
      "@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @",
      "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@",
      "IT IS POSSIBLE THAT SOMEONE IS DOING SOMETHING NASTY!",
      "Host key for [127.0.0.1]:2299 has changed and you have requested strict checking.",
      "Host key verification failed.",
      "fatal: Could not read from remote repository.",
      "",
      "Please make sure you have the correct access rights",
      "and the repository exists.",
    ].join("\n"),
    code: "auth",
  },
  "SSH host not in known_hosts": {
    stderr:
      "No ED25519 host key is known for [127.0.0.1]:2299 and you have requested strict checking.\nHost key verification failed.\nfatal: Could not read from remote repository.\n",
    code: "auth",
  },
  "SSH key not authorized": {
    stderr:
      "root@127.0.0.1: Permission denied (publickey).\nfatal: Could not read from remote repository.\n\nPlease make sure you have the correct access rights\nand the repository exists.\n",
    code: "auth",
  },
  "SSH key file unreadable": {
    stderr:
      'Load key "badkey": error in libcrypto\nroot@127.0.0.1: Permission denied (publickey).\nfatal: Could not read from remote repository.\n',
    code: "auth",
  },
  "SSH repository missing": {
    stderr:
      "fatal: '/tmp/sshsamp/nope.git' does not appear to be a git repository\nfatal: Could not read from remote repository.\n",
    code: "not-found",
  },
  "SSH connection refused": {
    stderr:
      "ssh: connect to host 127.0.0.1 port 1: Connection refused\nfatal: Could not read from remote repository.\n",
    code: "network",
  },
  "SSH unknown host": {
    stderr:
      "ssh: Could not resolve hostname nonexistent.invalid: Name or service not known\nfatal: Could not read from remote repository.\n",
    code: "network",
  },
  "SSH branch missing": {
    stderr: "fatal: couldn't find remote ref main\nfatal: the remote end hung up unexpectedly\n",
    code: "not-found",
  },
  "unknown object": {
    stderr: "fatal: Not a valid object name deadbeef\n",
    code: "not-found",
  },
  "ancestry of an unknown commit": {
    stderr: "fatal: Not a valid commit name 1111111111111111111111111111111111111111\n",
    code: "not-found",
  },
  "merge-tree on a non-commit": {
    stderr: "merge-tree: nonexistent - not something we can merge\n",
    code: "invalid",
  },
  "nothing recognizable": {
    stderr: "fatal: something unexpected happened\n",
    code: "failed",
  },
};

describe("classifyGitStderr", () => {
  it.each(Object.entries(SAMPLES))("%s", (_name, { stderr, code }) => {
    expect(classifyGitStderr(stderr)).toBe(code);
  });
});

describe("maskSecrets", () => {
  it("masks the given secrets wherever they appear, longest first", () => {
    expect(maskSecrets("token s3cr3t-long and s3cr3t", ["s3cr3t", "s3cr3t-long"])).toBe(
      "token *** and ***",
    );
  });

  it("masks userinfo in URLs of any scheme", () => {
    expect(
      maskSecrets(
        "fatal: unable to access 'https://user:hunter2@git.example.com/repo.git/': 403",
        [],
      ),
    ).toBe("fatal: unable to access 'https://***@git.example.com/repo.git/': 403");
    expect(maskSecrets("https://ghp_abc123@github.com/o/r.git", [])).toBe(
      "https://***@github.com/o/r.git",
    );
    expect(maskSecrets("ssh://git@host:22/r.git", [])).toBe("ssh://***@host:22/r.git");
  });

  it("masks Authorization header values", () => {
    expect(maskSecrets("> Authorization: Basic dXNlcjpwYXNz\n", [])).toBe(
      "> Authorization: Basic ***\n",
    );
    expect(maskSecrets("authorization: Bearer abc.def", [])).toBe("authorization: Bearer ***");
    expect(maskSecrets("Authorization: abc", [])).toBe("Authorization: ***");
  });

  it("ignores empty secrets", () => {
    expect(maskSecrets("unchanged", [""])).toBe("unchanged");
  });
});

describe("summarizeStderr", () => {
  it("drops hints and banners and squeezes blank lines", () => {
    const nonFastForward = SAMPLES["non-fast-forward push"]?.stderr ?? "";
    expect(summarizeStderr(nonFastForward)).not.toContain("hint:");
    const hostKey = SAMPLES["SSH host key changed"]?.stderr ?? "";
    const summary = summarizeStderr(hostKey);
    expect(summary).not.toMatch(/^@+$/m);
    expect(summary).toContain("Host key verification failed.");
    expect(summary).not.toMatch(/\n\n/);
  });

  it("bounds a flood of output", () => {
    const flood = Array.from({ length: 500 }, (_, i) => `line ${i}`).join("\n");
    const summary = summarizeStderr(flood);
    expect(summary.split("\n").length).toBeLessThanOrEqual(13);
    expect(summary).toContain("more lines");
  });
});

describe("gitErrorFrom", () => {
  it("builds a typed error whose message names the operation and hides credentials", () => {
    const password = "hunter2-secret";
    const basic = Buffer.from(`cairn:${password}`).toString("base64");
    const err = gitErrorFrom({
      operation: "push abc to main of https://git.example.com/r.git",
      stderr: `fatal: unable to access 'https://cairn:${password}@git.example.com/r.git/': The requested URL returned error: 401\n> Authorization: Basic ${basic}\n`,
      exitCode: 128,
      secrets: [password, basic],
    });
    expect(err).toBeInstanceOf(GitError);
    expect(isGitError(err, "auth")).toBe(true);
    expect(isGitError(err, "network")).toBe(false);
    expect(err.message).toMatch(
      /^git push abc to main of https:\/\/git.example.com\/r.git failed: /,
    );
    expect(err.message).not.toContain(password);
    expect(err.message).not.toContain(basic);
  });

  it("leads with the line that decided the kind, past ssh's banner", () => {
    const err = gitErrorFrom({
      operation: "fetch main from ssh://git@host/r.git",
      stderr: SAMPLES["SSH host key changed"]?.stderr ?? "",
      exitCode: 128,
      secrets: [],
    });
    expect(err.code).toBe("auth");
    expect(err.message.split("\n")[0]).toBe(
      "git fetch main from ssh://***@host/r.git failed: Host key verification failed.",
    );
  });

  it("falls back to the exit code when stderr is empty", () => {
    const err = gitErrorFrom({ operation: "fetch", stderr: "", exitCode: 128, secrets: [] });
    expect(err.code).toBe("failed");
    expect(err.message).toBe("git fetch failed: exit code 128");
  });
});
