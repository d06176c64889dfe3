/**
 * Run events -> chat. One bridge per bot process reads the global event stream in the consumer group
 * `chat-<platform>` (every process of a platform shares the work; each event is handled once per platform) and,
 * for runs bound to a thread on its platform, keeps the status card up to date and posts in the thread:
 *
 *  - every progress event (run.started, step.started, step.finished, best.improved, run.paused, steer.applied,
 *    run.finished, run.failed) edits the status card (platforms coalesce rapid edits);
 *  - best.improved posts the new best (mentions per the notify throttle);
 *  - steer.applied posts the acknowledgement;
 *  - step.finished posts a compact line when the thread asked for `verbose on`;
 *  - run.finished posts the final summary with the chart, the best script and its submission, mentioning all
 *    followers; run.failed posts the error.
 *
 * Exactly-once posting: an event is acked only after its posts were accepted by the platform. Each post is also
 * marked in Redis once accepted, so a retry of a half-handled event (a later post or an edit failed) never posts
 * the earlier ones again; the consumer's handled markers make a redelivered, handled event a no-op.
 */
import type { Redis } from "ioredis";
import { chartForMessage, metricChartPng } from "../../charts/metric-chart.ts";
import type { Config } from "../../config.ts";
import type { Logger } from "../../logger.ts";
import { EventConsumer, type StoredRunEvent } from "../../queue/events.ts";
import type { RefitOutcome, SolutionNode, StepAction } from "../../search/types.ts";
import type { Store } from "../../store/store.ts";
import type { RunRecord, ThreadBindingRecord } from "../../store/types.ts";
import { cardRef } from "./controller.ts";
import {
  failedMessage,
  finalSummary,
  newBestMessage,
  runningText,
  statusCard,
  steerAck,
  stepLine,
} from "./messages.ts";
import { NotifyThrottle } from "./notify.ts";
import { TreeLinks } from "./tree-links.ts";
import type { ChatMessage, ChatSurface, ThreadRef } from "./types.ts";

const CARD_EVENTS = new Set<StoredRunEvent["type"]>([
  "run.started",
  "step.started",
  "step.finished",
  "best.improved",
  "run.paused",
  "steer.applied",
  "run.finished",
  "run.failed",
]);

/** How long a post's "accepted" marker is kept (as long as the consumer's handled markers). */
const POSTED_TTL_SEC = 14 * 24 * 3600;

export interface ChatBridgeDeps {
  redis: Redis;
  store: Store;
  surface: ChatSurface;
  logger: Logger;
  config: Config;
  /** Unique and stable per bot process (e.g. host name + pid). */
  consumerName: string;
  /** XREADGROUP block time (default 2 s); tests use less. */
  blockMs?: number;
  /** Pending entries idle this long are retried or taken over (default 60 s). */
  claimIdleMs?: number;
  /**
   * Events older than this are acked without posting (a new group reads the stream from its start, and a
   * months-old run must not be announced again). Default 24 h.
   */
  maxEventAgeSec?: number;
}

export function chatGroup(platform: string): string {
  return `chat-${platform}`;
}

export class ChatBridge {
  private readonly log: Logger;
  private readonly group: string;
  private readonly throttle: NotifyThrottle;
  private readonly links: TreeLinks;
  private consumer: EventConsumer | null = null;
  /** Steps started and not finished, per run: the card's "Running now". In memory: a hint, not a record. */
  private readonly inFlight = new Map<string, Map<number, StepAction>>();

  constructor(private readonly deps: ChatBridgeDeps) {
    this.group = chatGroup(deps.surface.platform);
    this.log = deps.logger.child({ component: "chat-bridge", platform: deps.surface.platform });
    this.throttle = new NotifyThrottle({ redis: deps.redis, intervalSec: deps.config.chat.notifyIntervalSec });
    this.links = new TreeLinks(deps.store, deps.config.web, this.log);
  }

  /** Joins the group (created at the stream's start when new) and handles events in the background. */
  async start(): Promise<void> {
    if (this.consumer) return;
    this.consumer = new EventConsumer({
      redis: this.deps.redis,
      group: this.group,
      consumer: this.deps.consumerName,
      logger: this.deps.logger,
      startId: "0",
      blockMs: this.deps.blockMs,
      claimIdleMs: this.deps.claimIdleMs,
    });
    // A process's first chart is slow (fonts, canvas, cold code): draw a throwaway one now rather than in front
    // of the first new-best post and the replies queued behind it (docs/benchmarks.md, chat deployment).
    void metricChartPng([], { size: "small" }).catch(() => undefined);
    await this.consumer.start((event) => this.handleEvent(event));
    this.log.info({ group: this.group, consumer: this.deps.consumerName }, "chat bridge started");
  }

  async stop(): Promise<void> {
    const c = this.consumer;
    this.consumer = null;
    await c?.stop();
  }

  /**
   * Handles one event (the consumer calls this; exposed for tests and tools). Throws when a post or a final
   * card edit failed, so the consumer leaves the event pending and retries it; posts already accepted are not
   * repeated.
   */
  async handleEvent(event: StoredRunEvent): Promise<void> {
    this.track(event);
    const maxAge = (this.deps.maxEventAgeSec ?? 24 * 3600) * 1000;
    const at = Date.parse(event.at);
    if (Number.isFinite(at) && Date.now() - at > maxAge) {
      this.log.debug({ eventId: event.id }, "event too old to post; skipped");
      return;
    }
    const { store, surface } = this.deps;
    const bindings = (await store.bindingsForRun(event.runId)).filter((b) => b.platform === surface.platform);
    if (bindings.length === 0) return;
    const run = await store.getRun(event.runId);
    if (!run) return;
    const failures: unknown[] = [];
    for (const binding of bindings) {
      try {
        await this.forBinding(event, run, binding);
      } catch (err) {
        failures.push(err);
      }
    }
    if (event.type === "run.finished" || event.type === "run.failed") this.inFlight.delete(event.runId);
    if (failures.length) throw failures[0];
  }

  private async forBinding(event: StoredRunEvent, run: RunRecord, binding: ThreadBindingRecord): Promise<void> {
    const thread: ThreadRef = { platform: binding.platform, channel: binding.channel, thread: binding.thread };
    const post = (effect: string, build: () => Promise<ChatMessage> | ChatMessage) =>
      this.postOnce(event, binding, effect, thread, build);
    const config = this.deps.config;
    switch (event.type) {
      case "best.improved":
        await post("best", async () =>
          newBestMessage(event.node, event.previous, run, {
            snippetLines: config.chat.snippetLines,
            mentions: await this.throttle.mentionsForBest(run, event.id),
            chart: await chartForMessage(run.id, await this.journalUpTo(run.id, event.node.id), this.log, "small"),
          }),
        );
        break;
      case "steer.applied":
        await post("ack", () => steerAck(event.note, event.command));
        break;
      case "step.finished":
        if (run.verbose) await post("step", () => stepLine(event.node));
        break;
      case "run.finished":
        await post("summary", () => this.summary(run, event.best, event.reason, event.refit ?? null));
        break;
      case "run.failed":
        await post("failed", () => failedMessage(event.error, this.throttle.finalMentions(run)));
        break;
      default:
        break;
    }
    if (CARD_EVENTS.has(event.type)) {
      const final = event.type === "run.finished" || event.type === "run.failed";
      await this.editCard(binding, run, final);
    }
  }

  /** Posts a message once per (event, thread, effect): skipped when an earlier attempt was accepted. */
  private async postOnce(
    event: StoredRunEvent,
    binding: ThreadBindingRecord,
    effect: string,
    where: ThreadRef,
    build: () => Promise<ChatMessage> | ChatMessage,
  ): Promise<void> {
    const key = `aide:chat:posted:${this.group}:${event.id}:${binding.id}:${effect}`;
    if ((await this.deps.redis.exists(key)) === 1) return;
    const message = await build();
    await this.deps.surface.post(where, message);
    await this.deps.redis.set(key, "1", "EX", POSTED_TTL_SEC);
  }

  private async editCard(binding: ThreadBindingRecord, run: RunRecord, final: boolean): Promise<void> {
    let b = binding;
    if (!b.rootMessageId) {
      // The controller binds the card's message id right after the run was queued; look once more.
      b = (await this.deps.store.getThreadBinding(b.platform, b.channel, b.thread)) ?? b;
    }
    const ref = cardRef(b);
    if (!ref) return;
    const fresh = (await this.deps.store.getRun(run.id)) ?? run;
    const running = runningText(
      [...(this.inFlight.get(run.id) ?? new Map<number, StepAction>())].map(([nodeId, action]) => ({ nodeId, action })),
    );
    try {
      await this.deps.surface.edit(ref, statusCard(fresh, running, await this.links.of(run.id)));
    } catch (err) {
      // A missed intermediate edit is repaired by the next one; the final state must land, so that one retries.
      if (final) throw err;
      this.log.warn({ err, runId: run.id }, "could not edit the status card");
    }
  }

  private async summary(
    run: RunRecord,
    eventBest: SolutionNode | null,
    reason: string,
    refit: RefitOutcome | null,
  ): Promise<ChatMessage> {
    const { store } = this.deps;
    const journal = await store.loadJournal(run.id);
    const best =
      eventBest ??
      (run.progress.bestNodeId !== null ? (journal.find((n) => n.id === run.progress.bestNodeId) ?? null) : null);
    const chart = await chartForMessage(run.id, journal, this.log);
    const submission = best ? await store.getSubmission(run.id, best.id) : null;
    return finalSummary({
      run,
      journal,
      best,
      reason,
      chart,
      submission,
      refit,
      mentions: this.throttle.finalMentions(run),
      treeUrl: await this.links.of(run.id),
    });
  }

  /**
   * The journal as it was when `nodeId` finished (nodes with smaller ids that have finished, and it): a new
   * best's chart ends at that node even when the event is handled later.
   */
  private async journalUpTo(runId: string, nodeId: number): Promise<SolutionNode[]> {
    return (await this.deps.store.loadJournal(runId)).filter((n) => n.id <= nodeId);
  }

  private track(event: StoredRunEvent): void {
    if (event.type === "step.started") {
      const m = this.inFlight.get(event.runId) ?? new Map<number, StepAction>();
      m.set(event.nodeId, event.action);
      this.inFlight.set(event.runId, m);
    } else if (event.type === "step.finished") {
      this.inFlight.get(event.runId)?.delete(event.node.id);
    } else if (event.type === "run.started" || event.type === "run.paused") {
      this.inFlight.delete(event.runId);
    }
  }
}
