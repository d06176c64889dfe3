import type { Redis } from "ioredis";
import type { Logger } from "../src/logger.ts";
import { eventIdFor, publishEvent } from "../src/queue/events.ts";
import type { SteerSignals } from "../src/queue/steering.ts";
import type {
  RefitOutcome,
  RunEvent,
  RunSink,
  SolutionNode,
  SteerCommand,
  SteeringInbox,
} from "../src/search/types.ts";
import { IllegalTransitionError, type Store } from "../src/store/index.ts";
import type { RunStatus } from "../src/store/types.ts";
import { untilAnswered } from "./infrastructure.ts";

/** While MongoDB or Redis does not answer, the runner waits (its run is not at fault) until the run is aborted. */
export interface OutageWait {
  logger: Logger;
  signal?: AbortSignal;
}

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
    private readonly outage: OutageWait,
  ) {}

  async drain(): Promise<SteerCommand[]> {
    // The counter is read before MongoDB, so a signal that lands in between still wakes the next wait().
    this.seenSeq = await untilAnswered("steer signal counter", () => this.signals.seq(this.runId), this.outage);
    const pending = await untilAnswered(
      "unapplied steering",
      () => this.store.unappliedSteers(this.runId),
      this.outage,
    );
    const fresh = pending.filter((s) => !this.handedOut.has(s.id));
    for (const s of fresh) this.handedOut.add(s.id);
    return fresh.map((s) => ({ ...s.command, ref: s.id }));
  }

  wait(signal?: AbortSignal): Promise<void> {
    return this.signals.wait(this.runId, signal, this.seenSeq);
  }
}

/**
 * Where a running search reports to: nodes into MongoDB (idempotent), progress and status onto the Run, then
 * each event onto the Redis streams with a deterministic id, so a resumed run re-emitting an event adds nothing.
 * The store is always written before the event is published. Every write is idempotent and is repeated while
 * MongoDB does not answer (`OutageWait`), so an outage delays the run instead of failing it.
 */
export class StoreSink implements RunSink {
  /** Ids of the nodes in the journal: a repeated append (its first answer lost) still counts its node once. */
  private readonly nodeIds: Set<number>;
  private pauses = 0;

  constructor(
    private readonly deps: {
      store: Store;
      redis: Redis;
      runId: string;
      /** Distinguishes this pickup of the run (a resumed run starts again). */
      attempt: string;
      logger: Logger;
      journal: readonly SolutionNode[];
      onBest?: (node: SolutionNode) => Promise<void>;
      /** The best node's refit succeeded: its submission is the one to deliver. */
      onRefit?: (refit: RefitOutcome & { ok: true }) => Promise<void>;
      outage: OutageWait;
    },
  ) {
    this.nodeIds = new Set(deps.journal.map((n) => n.id));
  }

  private write<T>(what: string, op: () => Promise<T>): Promise<T> {
    return untilAnswered(what, op, this.deps.outage);
  }

  /** A status change that also counts as done when an earlier attempt of it went through (its answer lost). */
  private async transition(
    from: RunStatus[],
    to: RunStatus,
    extra: { error?: string; finishReason?: string } = {},
  ): Promise<void> {
    await this.write(`run ${to}`, async () => {
      try {
        await this.deps.store.transition(this.deps.runId, from, to, extra);
      } catch (err) {
        if (err instanceof IllegalTransitionError && err.current === to) return;
        throw err;
      }
    });
  }

  async nodeFinished(node: SolutionNode): Promise<void> {
    await this.write("node", () => this.deps.store.appendNode(this.deps.runId, node));
    this.nodeIds.add(node.id);
  }

  async event(e: RunEvent): Promise<void> {
    const { store, runId } = this.deps;
    let discriminator: string | undefined;
    switch (e.type) {
      case "run.started": {
        discriminator = this.deps.attempt;
        const patch = { executor: e.executor, ...(e.holdout ? { holdoutLine: e.holdout } : {}) };
        await this.write("progress", () => store.updateProgress(runId, patch));
        break;
      }
      case "step.started":
        await this.write("progress", () => store.updateProgress(runId, { step: e.nodeId + 1 }));
        break;
      case "step.finished":
        await this.write("progress", () => store.updateProgress(runId, { nodes: this.nodeIds.size }));
        break;
      case "best.improved":
        await this.write("best submission", async () => this.deps.onBest?.(e.node));
        await this.write("progress", () =>
          store.updateProgress(runId, {
            bestNodeId: e.node.id,
            bestMetric: e.node.metric?.value ?? null,
            bestHoldout: e.node.holdout?.value ?? null,
            bestMembers: e.node.members ?? [],
            metricName: e.node.metric?.name ?? null,
            lowerIsBetter: e.node.metric?.lowerIsBetter ?? null,
          }),
        );
        break;
      case "steer.applied": {
        discriminator = e.command.ref ?? `${this.deps.attempt}-${e.at}`;
        if (e.command.kind === "more") {
          // Read once, then set: a repeated write sets the same total.
          const run = await this.write("run", () => store.requireRun(runId));
          const totalSteps = run.progress.totalSteps + e.command.steps;
          await this.write("progress", () => store.updateProgress(runId, { totalSteps }));
        }
        if (e.command.kind === "resume") await this.transition(["paused"], "running").catch(() => undefined);
        const ref = e.command.ref;
        if (ref) await this.write("steering applied", () => store.markSteerApplied(ref, e.note));
        break;
      }
      case "run.paused":
        discriminator = `${this.nodeIds.size}-${this.deps.attempt}-${++this.pauses}`;
        await this.transition(["running"], "paused").catch(() => undefined);
        break;
      case "run.finished":
        if (e.refit) {
          const refit = e.refit;
          if (refit.ok) await this.write("refit submission", async () => this.deps.onRefit?.(refit));
          await this.write("progress", () => store.updateProgress(runId, { delivered: refit.note }));
        }
        await this.transition(["running", "paused"], e.reason === "stopped" ? "stopped" : "finished", {
          finishReason: e.reason,
        });
        break;
      case "run.failed":
        await this.transition(["queued", "running", "paused"], "failed", { error: e.error });
        break;
    }
    await publishEvent(this.deps.redis, { ...e, id: eventIdFor(e, discriminator) });
  }
}
