/**
 * The one watcher of a running script, whatever runs it (a process group on the host, a container, a warm
 * interpreter's child): the time limit and the abort signal (SIGINT, so the script can print its traceback,
 * then SIGKILL after the grace time), the output cap and ceiling (past the ceiling the script is killed
 * outright), and how its end reads: exit code or signal, timed out, out of memory. The executor says how to
 * interrupt and kill its script, feeds in the output, and reports the end.
 */
import { constants as osConstants } from "node:os";
import type { Logger } from "../../src/logger.ts";
import { CappedOutput } from "../../src/search/output.ts";
import type { ExecutionResult } from "../../src/search/types.ts";

/** Time between SIGINT and SIGKILL when a run is stopped. */
export const DEFAULT_GRACE_MS = 2000;
/** Characters of output after which a run is killed outright (output beyond the cap is discarded anyway). */
export const DEFAULT_OUTPUT_CEILING = 512 * 1024 * 1024;
/** After the script has exited, how long to wait for the rest of its output before giving up on it. */
export const STREAM_DRAIN_MS = 3000;
/** setTimeout cannot wait longer than this (it would fire at once); a longer limit counts as none. */
const LONGEST_TIMER_MS = 2 ** 31 - 1;
/** How much of the output's end is searched for a memory error. */
const MEMORY_ERROR_TAIL = 4000;

/** How Python and native code say they ran out of memory, in a script's last output. */
export const MEMORY_ERROR = /\b\w*MemoryError\b|Cannot allocate memory|std::bad_alloc|Unable to allocate/;

/** The name of signal number `n` (SIGKILL for 9), or null. */
export function signalName(n: number): string | null {
  for (const [name, value] of Object.entries(osConstants.signals)) if (value === n) return name;
  return null;
}

/** What to throw for a run asked to stop before it started: the signal's reason, or an AbortError. */
export function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error) return reason;
  return new DOMException("The run was aborted", "AbortError");
}

/** Waits for `done` (the end of a finished script's output) at most `ms`; false when the time ran out first. */
export async function drain(done: Promise<unknown>, ms = STREAM_DRAIN_MS): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      done.then(() => true),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(false), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

export interface SupervisorOptions {
  timeoutMs: number;
  memoryMb: number;
  outputCap: number;
  graceMs?: number;
  outputCeiling?: number;
  signal?: AbortSignal;
  logger: Logger;
  /** Fields naming the script in log lines (its pid, container or node). */
  context: Record<string, unknown>;
  /** Sends SIGINT to the script (not to its sandbox). */
  interrupt(): void;
  /** Kills the script and everything it started, at once. */
  kill(): void;
}

/** How the script ended, as its sandbox reports it. */
export interface ScriptEnd {
  /** The exit code; null when a signal ended it. */
  code: number | null;
  /** The signal that ended it, by name or number, or null. */
  signal: string | number | null;
  /** The code reports a death by signal N as 128+N (as a shell, docker-init and bubblewrap do). */
  codeEncodesSignal?: boolean;
  /** The kernel's OOM killer fired in the script's sandbox (a cgroup or Docker said so). */
  oomKilled?: boolean;
  /** Nothing in the sandbox but the OOM killer could have sent a SIGKILL this supervisor did not send. */
  sigkillMeansOom?: boolean;
  /** Text for the end of the output, e.g. why the sandbox went away. */
  note?: string;
}

export interface SupervisedResult {
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  aborted: boolean;
  outOfMemory: boolean;
  /** Killed because it printed more than the output ceiling. */
  outputCeilingHit: boolean;
  durationMs: number;
  output: string;
  outputCapped: boolean;
}

export class ScriptSupervisor {
  private readonly output: CappedOutput;
  private readonly graceMs: number;
  private readonly ceiling: number;
  private seen = 0;
  private startedAt: number | null = null;
  private endedAt: number | null = null;
  private timeLimit: NodeJS.Timeout | undefined;
  private killTimer: NodeJS.Timeout | undefined;
  private timedOut = false;
  private aborted = false;
  private killSent = false;
  private ceilingHit = false;

  constructor(private readonly opts: SupervisorOptions) {
    this.output = new CappedOutput(opts.outputCap);
    this.graceMs = opts.graceMs ?? DEFAULT_GRACE_MS;
    this.ceiling = opts.outputCeiling ?? DEFAULT_OUTPUT_CEILING;
  }

  private readonly onAbort = (): void => {
    this.aborted = true;
    this.opts.logger.debug(this.opts.context, "run aborted: interrupting");
    this.interrupt();
  };

  /** The script runs: starts the clock and the time limit, and obeys the abort signal (at once if it has fired). */
  start(): void {
    const { signal, timeoutMs, logger, context } = this.opts;
    this.startedAt = performance.now();
    signal?.addEventListener("abort", this.onAbort, { once: true });
    if (signal?.aborted) this.onAbort();
    if (Number.isFinite(timeoutMs) && timeoutMs <= LONGEST_TIMER_MS) {
      this.timeLimit = setTimeout(
        () => {
          this.timedOut = true;
          logger.debug({ ...context, timeoutMs }, "time limit reached: interrupting");
          this.interrupt();
        },
        Math.max(0, timeoutMs),
      );
    }
  }

  /** Output as the script printed it (stdout and stderr merged). Past the ceiling the script is killed. */
  append(text: string): void {
    this.seen += text.length;
    if (this.ceilingHit) return;
    this.output.append(text);
    if (this.seen > this.ceiling) {
      this.ceilingHit = true;
      this.opts.logger.warn(
        { ...this.opts.context, ceiling: this.ceiling },
        "script output exceeded the ceiling: killing it",
      );
      this.killNow();
    }
  }

  private interrupt(): void {
    this.opts.interrupt();
    this.killTimer ??= setTimeout(() => this.killNow(), this.graceMs);
  }

  private killNow(): void {
    this.killSent = true;
    this.opts.kill();
  }

  /** The script has ended (or could not start): stops the clock, the timers and listening to the signal. Idempotent. */
  ended(): void {
    this.endedAt ??= performance.now();
    clearTimeout(this.timeLimit);
    clearTimeout(this.killTimer);
    this.opts.signal?.removeEventListener("abort", this.onAbort);
  }

  /** The run's result from the script's end and everything seen meanwhile. */
  result(end: ScriptEnd): SupervisedResult {
    this.ended();
    let exitCode = end.code;
    let signal = typeof end.signal === "number" ? numberedSignal(end.signal) : end.signal;
    if (end.codeEncodesSignal && exitCode !== null && exitCode > 128 && exitCode < 128 + 65) {
      signal = numberedSignal(exitCode - 128);
      exitCode = null;
    }
    const failed = exitCode !== 0 || signal !== null;
    const unexplainedKill = signal === "SIGKILL" && !this.killSent && !this.timedOut && !this.aborted;
    const outOfMemory =
      end.oomKilled === true ||
      (end.sigkillMeansOom === true && unexplainedKill) ||
      (!this.timedOut && failed && MEMORY_ERROR.test(this.output.text.slice(-MEMORY_ERROR_TAIL)));

    let output = this.output.text + (end.note ?? "");
    if (this.ceilingHit)
      output += `\n[aide executor: output exceeded ${this.ceiling} characters; the script was killed]\n`;
    if (end.oomKilled)
      output += `\n[aide executor: the script was killed for exceeding the ${this.opts.memoryMb} MB memory limit]\n`;
    const durationMs = this.startedAt === null ? 0 : (this.endedAt ?? performance.now()) - this.startedAt;
    return {
      exitCode,
      signal,
      timedOut: this.timedOut,
      aborted: this.aborted,
      outOfMemory,
      outputCeilingHit: this.ceilingHit,
      durationMs: Math.round(durationMs),
      output,
      outputCapped: this.output.capped || this.ceilingHit,
    };
  }
}

function numberedSignal(n: number): string {
  return signalName(n) ?? `SIG${n}`;
}

/** The executor-facing result of a supervised script that worked in `workingDir`. */
export function toExecutionResult(r: SupervisedResult, workingDir: string): ExecutionResult {
  return {
    exitCode: r.exitCode,
    signal: r.signal,
    timedOut: r.timedOut,
    outOfMemory: r.outOfMemory,
    durationMs: r.durationMs,
    output: r.output,
    outputCapped: r.outputCapped,
    workingDir,
  };
}
