import { AideError } from "../errors.ts";
import type { RunStatus } from "./types.ts";

export class RunNotFoundError extends AideError {
  readonly runId: string;
  constructor(runId: string) {
    super("run-not-found", `There is no run ${runId}.`);
    this.runId = runId;
  }
}

/**
 * A status change that is not allowed: either never (finished -> running), or not from the status the run has now
 * (someone else changed it first; `current` tells what it is).
 */
export class IllegalTransitionError extends AideError {
  readonly runId: string;
  readonly from: RunStatus[];
  readonly to: RunStatus;
  /** The run's status when the change was refused; undefined when the change is never legal. */
  readonly current: RunStatus | undefined;
  constructor(runId: string, from: RunStatus[], to: RunStatus, current?: RunStatus) {
    super(
      "illegal-transition",
      current === undefined
        ? `Run ${runId} cannot go from ${from.join("/")} to ${to}.`
        : `Run ${runId} is ${current}; it cannot become ${to} now.`,
    );
    this.runId = runId;
    this.from = from;
    this.to = to;
    this.current = current;
  }
}

/** The thread is already bound to another run. */
export class ThreadBoundError extends AideError {
  readonly runId: string;
  constructor(bindingId: string, runId: string) {
    super("thread-bound", `This thread already belongs to run ${runId}.`, { detail: bindingId });
    this.runId = runId;
  }
}
