/**
 * Every Redis key and channel name the queue layer uses, in one place. All live under the `aide:` prefix
 * except BullMQ's own keys, which BullMQ puts under `bull:aide-runs:*`.
 */
import { AideError } from "../errors.ts";

/** BullMQ queue of runs (keys `bull:aide-runs:*`). */
export const RUN_QUEUE_NAME = "aide-runs";

/** Global stream of all runs' events; bots read it with one consumer group per bot type. */
export const EVENTS_STREAM = "aide:events";

export const keys = {
  /** Per-run stream of the same events, for `aide status` and `aide events <run> --follow`. */
  runEvents: (runId: string) => `aide:events:${runId}`,
  /** Dedup marker of a published event id (SET NX before XADD). */
  eventId: (eventId: string) => `aide:event-ids:${eventId}`,
  /** A consumer group has handled this event (set after the handler resolved). */
  handled: (group: string, eventId: string) => `aide:handled:${group}:${eventId}`,
  /** Short lock while one consumer of a group is handling the event. */
  handling: (group: string, eventId: string) => `aide:handling:${group}:${eventId}`,
  /** How many times a group's handler threw for this event. */
  failures: (group: string, eventId: string) => `aide:event-failures:${group}:${eventId}`,
  /** Belt-and-braces lease: which worker is executing the run. */
  runLease: (runId: string) => `aide:run-lease:${runId}`,
  /** Pub/sub channel that wakes the runner of a run when a steer message was saved. */
  steerChannel: (runId: string) => `aide:steer:${runId}`,
  /** Counter bumped on every steer signal; read at step boundaries and after a reconnect, in case pub/sub missed one. */
  steerSeq: (runId: string) => `aide:steer-seq:${runId}`,
};

const RUN_ID = /^[A-Za-z0-9_-]{1,128}$/;

/**
 * Run ids become BullMQ job ids and parts of Redis keys, so they must be short, without `:` and not a plain
 * integer (BullMQ refuses integer custom ids).
 */
export function assertRunId(runId: string): void {
  if (typeof runId !== "string" || !RUN_ID.test(runId) || /^\d+$/.test(runId)) {
    throw new AideError("queue", "Invalid run id.", {
      detail: `run ids must match ${RUN_ID.source} and not be all digits, got ${JSON.stringify(runId)}`,
    });
  }
}
