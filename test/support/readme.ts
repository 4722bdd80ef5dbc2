// The README's GitOps kustomization, read from the README itself, so that the tests install
// Cairn exactly as the README tells people to.
import { readFileSync } from "node:fs";
import { join } from "node:path";

const README = join(import.meta.dirname, "../../README.md");
const MARKER = "# clusters/prod/cairn/kustomization.yaml";

/** The YAML block of README.md that starts with the GitOps kustomization's path comment. */
export function readmeGitopsKustomization(): string {
  const text = readFileSync(README, "utf8");
  for (const block of text.matchAll(/```yaml\n([\s\S]*?)```/g)) {
    const body = block[1] ?? "";
    if (body.startsWith(MARKER)) return body;
  }
  throw new Error(`README.md has no yaml block starting with ${MARKER}`);
}
