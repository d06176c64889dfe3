import type { Redis } from "ioredis";
import type { Logger } from "../src/logger.ts";
import { eventIdFor, publishEvent } from "../src/queue/events.ts";
import type { SteerSignals } from "../src/queue/steering.ts";
import type { RunEvent, RunSink, SolutionNode, SteerCommand, SteeringInbox } from "../src/search/types.ts";
import type { Store } from "../src/store/index.ts";

/**
 * Steering commands from MongoDB: every stored message not yet applied, oldest first, each tagged with its
 * record id as `ref` so the `steer.applied` event can mark it applied. Woken by Redis steer signals.
 */
export class StoreInbox implements SteeringInbox {
  private seenSeq = 0;
  private readonly handedOut = new Set<string>();

  constructor(
    private readonly store: Store,
    private readonly signals: SteerSignals,
    private readonly runId: string,
  ) {}

  async drain(): Promise<SteerCommand[]> {
    // The counter is read before MongoDB, so a signal that lands in between still wakes the next wait().
    this.seenSeq = await this.signals.seq(this.runId);
    const pending = await this.store.unappliedSteers(this.runId);
    const fresh = pending.filter((s) => !this.handedOut.has(s.id));
    for (const s of fresh) this.handedOut.add(s.id);
    return fresh.map((s) => ({ ...s.command, ref: s.id }));
  }

  wait(signal?: AbortSignal): Promise<void> {
    return this.signals.wait(this.runId, signal, this.seenSeq);
  }
}

/** Called after a run's final event was stored, to save what `aide export` and the bots deliver. */
export type FinalHook = (best: SolutionNode | null) => Promise<void>;

/**
 * Where a running search reports to: nodes into MongoDB (idempotent), progress and status onto the Run, then
 * each event onto the Redis streams with a deterministic id, so a resumed run re-emitting an event adds nothing.
 * The store is always written before the event is published.
 */
export class StoreSink implements RunSink {
  private nodes: number;
  private pauses = 0;

  constructor(
    private readonly deps: {
      store: Store;
      redis: Redis;
      runId: string;
      /** Distinguishes this pickup of the run (a resumed run starts again). */
      attempt: string;
      logger: Logger;
      journalSize: number;
      onBest?: (node: SolutionNode) => Promise<void>;
    },
  ) {
    this.nodes = deps.journalSize;
  }

  async nodeFinished(node: SolutionNode): Promise<void> {
    const { inserted } = await this.deps.store.appendNode(this.deps.runId, node);
    if (inserted) this.nodes++;
  }

  async event(e: RunEvent): Promise<void> {
    const { store, runId } = this.deps;
    let discriminator: string | undefined;
    switch (e.type) {
      case "run.started":
        discriminator = this.deps.attempt;
        break;
      case "step.started":
        await store.updateProgress(runId, { step: e.nodeId + 1 });
        break;
      case "step.finished":
        await store.updateProgress(runId, { nodes: this.nodes });
        break;
      case "best.improved":
        await this.deps.onBest?.(e.node);
        await store.updateProgress(runId, {
          bestNodeId: e.node.id,
          bestMetric: e.node.metric?.value ?? null,
          metricName: e.node.metric?.name ?? null,
          lowerIsBetter: e.node.metric?.lowerIsBetter ?? null,
        });
        break;
      case "steer.applied": {
        discriminator = e.command.ref ?? `${this.deps.attempt}-${e.at}`;
        if (e.command.kind === "more") {
          const run = await store.requireRun(runId);
          await store.updateProgress(runId, { totalSteps: run.progress.totalSteps + e.command.steps });
        }
        if (e.command.kind === "resume") await store.transition(runId, ["paused"], "running").catch(() => undefined);
        if (e.command.ref) await store.markSteerApplied(e.command.ref, e.note);
        break;
      }
      case "run.paused":
        discriminator = `${this.nodes}-${this.deps.attempt}-${++this.pauses}`;
        await store.transition(runId, ["running"], "paused").catch(() => undefined);
        break;
      case "run.finished":
        await store.transition(runId, ["running", "paused"], e.reason === "stopped" ? "stopped" : "finished", { finishReason: e.reason });
        break;
      case "run.failed":
        await store.transition(runId, ["queued", "running", "paused"], "failed", { error: e.error });
        break;
    }
    await publishEvent(this.deps.redis, { ...e, id: eventIdFor(e, discriminator) });
  }
}
