/**
 * A limit on what one script may write to its working directory, for any executor. Memory, time, processes
 * and single-file size are bounded inside the executors; the total size of `./working` is not (it is a host
 * directory bind-mounted read-write), so without this a script could fill the runner's disk within its time
 * limit. This wraps an executor: while a script runs, its working directory is measured (allocated blocks,
 * so sparse files count for what they use, and a file count) every `checkMs`; past the limit the script is
 * stopped like an abort (SIGINT, then SIGKILL), its working directory is emptied to give the space back, and
 * the result says why.
 */
import { lstat, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "../../src/logger.ts";
import type { ExecutionResult, Executor, RunScope, ScriptJob } from "../../src/search/types.ts";

export interface DiskLimits {
  /** Total megabytes a script's working directory may hold. */
  maxMb: number;
  /** Files and directories it may hold. */
  maxFiles: number;
  /** How often the directory is measured while the script runs (default 500 ms). */
  checkMs?: number;
}

export const DEFAULT_DISK_LIMITS: DiskLimits = { maxMb: 4096, maxFiles: 50_000 };

export interface DirUsage {
  bytes: number;
  entries: number;
}

/**
 * Allocated bytes and entries under `dir`, not following links. Stops counting once past `stopAt` (what the
 * caller needs to know by then is only that the limit was passed). A missing directory is empty.
 */
export async function dirUsage(
  dir: string,
  stopAt: DirUsage = { bytes: Infinity, entries: Infinity },
): Promise<DirUsage> {
  const total: DirUsage = { bytes: 0, entries: 0 };
  const pending = [dir];
  while (pending.length > 0) {
    const current = pending.pop()!;
    let names: string[];
    try {
      names = await readdir(current);
    } catch {
      continue; // gone, or not a directory any more
    }
    for (const name of names) {
      const path = join(current, name);
      try {
        const st = await lstat(path);
        total.entries += 1;
        total.bytes += st.blocks * 512;
        if (st.isDirectory()) pending.push(path);
      } catch {
        continue;
      }
      if (total.bytes > stopAt.bytes || total.entries > stopAt.entries) return total;
    }
  }
  return total;
}

export class DiskLimitedExecutor implements Executor {
  private readonly maxBytes: number;

  constructor(
    private readonly inner: Executor,
    private readonly limits: DiskLimits,
    private readonly logger: Logger,
  ) {
    this.maxBytes = limits.maxMb * 1024 * 1024;
  }

  get name(): string {
    return this.inner.name;
  }

  async prepareRun(scope: RunScope): Promise<void> {
    await this.inner.prepareRun?.(scope);
  }

  async releaseRun(scope: RunScope): Promise<void> {
    await this.inner.releaseRun?.(scope);
  }

  async close(): Promise<void> {
    await this.inner.close?.();
  }

  async run(job: ScriptJob, signal?: AbortSignal): Promise<ExecutionResult> {
    const workingDir = join(job.nodeDir, "working");
    const stop = new AbortController();
    const forward = () => stop.abort(signal?.reason);
    if (signal?.aborted) forward();
    else signal?.addEventListener("abort", forward, { once: true });

    let exceeded: string | null = null;
    let measuring = false;
    const check = async () => {
      if (measuring || exceeded) return;
      measuring = true;
      try {
        const used = await dirUsage(workingDir, { bytes: this.maxBytes, entries: this.limits.maxFiles });
        if (used.bytes > this.maxBytes) {
          exceeded = `the script wrote more than ${this.limits.maxMb} MB to ./working (the limit per script) and was stopped; its files were removed`;
        } else if (used.entries > this.limits.maxFiles) {
          exceeded = `the script created more than ${this.limits.maxFiles.toLocaleString("en-US")} files in ./working (the limit per script) and was stopped; its files were removed`;
        }
        if (exceeded) {
          this.logger.warn(
            { nodeId: job.nodeId, bytes: used.bytes, entries: used.entries },
            "script stopped: working directory over its limit",
          );
          stop.abort(new Error(exceeded));
        }
      } finally {
        measuring = false;
      }
    };
    const timer = setInterval(() => void check(), this.limits.checkMs ?? 500);
    try {
      const result = await this.inner.run(job, stop.signal);
      if (!exceeded) await check(); // a burst between the last check and the end counts too
      if (!exceeded) return result;
      await rm(workingDir, { recursive: true, force: true }).catch((err: unknown) =>
        this.logger.warn({ err, workingDir }, "could not empty an oversized working directory"),
      );
      return {
        ...result,
        limitExceeded: exceeded,
        output: `${result.output}${result.output.endsWith("\n") || !result.output ? "" : "\n"}[aide] ${exceeded}.\n`,
      };
    } finally {
      clearInterval(timer);
      signal?.removeEventListener("abort", forward);
    }
  }
}
