// Following a request the plugin created until it finishes, with live progress: on a terminal a
// redrawn status line; everywhere the finished steps (and, for --watch, each step as it starts).
import { Kind } from "../api/group.ts";
import { RollbackRequest } from "../api/rollbackrequest.ts";
import { UpgradeRequest } from "../api/upgraderequest.ts";
import type { KubeObject } from "../kube/client.ts";
import { parseObject } from "./cluster.ts";
import { humanStream, type CommandContext } from "./context.ts";
import { CliError, ExitCode } from "./errors.ts";
import { follow, WaitTimeout } from "./follow.ts";
import { formatDuration } from "./format/duration.ts";
import {
  errorLine,
  progressEvents,
  renderEvent,
  renderLive,
  renderOutcome,
} from "./format/progress.ts";
import { LiveOutput } from "./live.ts";
import { awaitingApproval, isFinished, outcomeOf, type AnyRequest } from "./requests.ts";

export function parseRequest(obj: KubeObject): AnyRequest {
  return obj.kind === Kind.RollbackRequest
    ? parseObject(RollbackRequest, obj)
    : parseObject(UpgradeRequest, obj);
}

export interface WatchOptions {
  /** 0: no limit. */
  readonly timeoutMs: number;
  /** Print each step as it starts and ends; false shows only the live line (a dry run's wait). */
  readonly steps: boolean;
  /** Stop when the request waits for a person to approve its plan, too. */
  readonly untilApproval?: boolean;
}

export interface Watched {
  readonly request: AnyRequest;
  /** The object as the API last sent it, for -o json|yaml. */
  readonly raw: KubeObject;
}

export async function watchRequest(
  ctx: CommandContext,
  created: KubeObject,
  opts: WatchOptions,
): Promise<Watched> {
  const startedWatching = ctx.now();
  let current: AnyRequest | undefined;
  const live = new LiveOutput(humanStream(ctx), () =>
    renderLive(current?.status, startedWatching, ctx.now()),
  );
  const signal =
    opts.timeoutMs > 0 ? AbortSignal.timeout(opts.timeoutMs) : new AbortController().signal;
  live.start();
  try {
    const raw = await follow(
      ctx.client,
      created,
      (obj) => {
        const next = parseRequest(obj);
        if (opts.steps) {
          for (const event of progressEvents(current?.status, next.status)) {
            live.line(renderEvent(event));
          }
        }
        current = next;
        live.update();
        return isFinished(next) || (opts.untilApproval === true && awaitingApproval(next));
      },
      signal,
    );
    return { request: parseRequest(raw), raw };
  } catch (err) {
    if (err instanceof WaitTimeout) {
      const last = parseRequest(err.last);
      const what = `${last.kind.toLowerCase()} ${last.metadata.name}`;
      throw new CliError(
        `timed out after ${formatDuration(opts.timeoutMs)} waiting for ${what} ` +
          `(${last.status?.phase ?? "Pending"}); it goes on in the cluster`,
        undefined,
        { cause: err },
      );
    }
    throw err;
  } finally {
    live.stop();
  }
}

/**
 * How the request ended, for people (stdout, or stderr with -o json|yaml), and for a failure
 * also the one `error:` line on stderr; the exit code follows the outcome.
 */
export function reportOutcome(ctx: CommandContext, request: AnyRequest): ExitCode {
  for (const line of renderOutcome(request)) humanStream(ctx).write(`${line}\n`);
  const error = errorLine(request);
  if (error !== undefined) ctx.stderr.write(`${error}\n`);
  return outcomeOf(request.status).state === "succeeded" ? ExitCode.Ok : ExitCode.Failure;
}
