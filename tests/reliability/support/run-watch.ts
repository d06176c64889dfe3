/**
 * Waiting for points in a run's life from its event stream, so a fault lands where the test wants it (in the
 * middle of a step, after some nodes) without guessing times.
 */
import type { Redis } from "ioredis";
import type { StoredRunEvent } from "../../../src/queue/events.ts";
import { poll } from "./deployment.ts";
import { runEvents } from "./invariants.ts";

/** Waits until a step with id >= `minNode` has started and not finished yet; returns its node id. */
export async function waitMidStep(redis: Redis, runId: string, minNode: number, timeoutMs: number): Promise<number> {
  return poll(
    async () => {
      const events = await runEvents(redis, runId).catch(() => [] as StoredRunEvent[]);
      if (events.some((e) => e.type === "run.finished" || e.type === "run.failed"))
        throw new Error(`run ${runId} ended before step ${minNode} started`);
      const done = new Set(events.flatMap((e) => (e.type === "step.finished" ? [e.node.id] : [])));
      const open = events.flatMap((e) =>
        e.type === "step.started" && e.nodeId >= minNode && !done.has(e.nodeId) ? [e.nodeId] : [],
      );
      return open.length ? open[0]! : null;
    },
    timeoutMs,
    `a step >= ${minNode} of run ${runId} in flight`,
    100,
  );
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
