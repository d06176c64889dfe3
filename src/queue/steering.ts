/**
 * The wake-up channel for steering. The RunService saves a SteerMessage in MongoDB, then calls
 * `signalSteer(redis, runId)`: it bumps the counter `aide:steer-seq:<runId>` and publishes the new value on
 * `aide:steer:<runId>`. The runner waits with `SteerSignals.wait`, pushed only, with no polling: it subscribes,
 * then reads the counter once (a signal sent before the subscription took effect is seen there), and reads it
 * again whenever the subscriber connection comes back after a reconnect (a message published while it was
 * down is lost by pub/sub, but not by the counter). Then it reads the unapplied SteerMessages from MongoDB.
 * The counter carries no commands: MongoDB is the source of truth.
 *
 * Race-free use in the runner:
 *   const seen = await signals.seq(runId);   // 1. remember the counter
 *   const cmds = await loadUnapplied(runId);  // 2. read MongoDB
 *   if (cmds.length === 0) await signals.wait(runId, abortSignal, seen);  // 3. sleep until it moves past `seen`
 */
import type { Redis } from "ioredis";
import type { Logger } from "../logger.ts";
import { assertRunId, keys } from "./keys.ts";

const SEQ_TTL_SEC = 30 * 24 * 3600;

/** Signals the run's runner that a steer message was saved. Returns the new sequence number. */
export async function signalSteer(redis: Redis, runId: string): Promise<number> {
  assertRunId(runId);
  const seqKey = keys.steerSeq(runId);
  const res = await redis.multi().incr(seqKey).expire(seqKey, SEQ_TTL_SEC).exec();
  const incr = res?.[0];
  if (!incr || incr[0]) throw incr?.[0] ?? new Error("steer signal failed");
  const seq = Number(incr[1]);
  await redis.publish(keys.steerChannel(runId), String(seq));
  return seq;
}

interface Waiter {
  runId: string;
  since: number;
  wake(): void;
}

export class SteerSignals {
  private readonly redis: Redis;
  private readonly log: Logger | undefined;
  private subscriber: Redis | null = null;
  private readonly waiters = new Map<string, Set<Waiter>>();
  private closed = false;

  constructor(opts: { redis: Redis; logger?: Logger }) {
    this.redis = opts.redis;
    this.log = opts.logger;
  }

  /** The run's current steer sequence number (0 when never signalled). */
  async seq(runId: string): Promise<number> {
    assertRunId(runId);
    const v = await this.redis.get(keys.steerSeq(runId));
    return v ? Number(v) : 0;
  }

  /**
   * Resolves once the run's sequence number is greater than `sinceSeq` (default: its value when called), or
   * when `signal` aborts or the SteerSignals is closed (resolves then too, like MemoryInbox.wait).
   */
  async wait(runId: string, signal?: AbortSignal, sinceSeq?: number): Promise<void> {
    if (this.closed || signal?.aborted) return;
    const since = sinceSeq ?? (await this.seq(runId));
    const channel = keys.steerChannel(runId);

    let wake!: () => void;
    const woken = new Promise<void>((resolve) => {
      wake = resolve;
    });
    const waiter: Waiter = { runId, since, wake };
    const set = this.waiters.get(channel) ?? new Set<Waiter>();
    this.waiters.set(channel, set);
    set.add(waiter);

    const onAbort = () => wake();
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      try {
        await this.subscribe(channel);
      } catch (err) {
        this.log?.warn({ err, runId }, "steer signals: subscribe failed; waiting for the connection to come back");
      }
      // Anything signalled before the subscription took effect is visible in the counter.
      this.recheck(waiter);
      await woken;
    } finally {
      signal?.removeEventListener("abort", onAbort);
      set.delete(waiter);
      if (set.size === 0 && this.waiters.get(channel) === set) {
        this.waiters.delete(channel);
        this.subscriber?.unsubscribe(channel).catch(() => {});
      }
    }
  }

  /** Reads the run's counter and wakes the waiter if it moved; if Redis does not answer, again once it is back. */
  private recheck(waiter: Waiter): void {
    this.seq(waiter.runId).then(
      (s) => {
        if (s > waiter.since) waiter.wake();
      },
      (err: unknown) => {
        if (this.closed) return;
        this.log?.warn(
          { err, runId: waiter.runId },
          "steer signals: reading the counter failed; again when Redis is back",
        );
        this.redis.once("ready", () => this.recheck(waiter));
      },
    );
  }

  /**
   * After a reconnect: once the resubscription has been processed (a PING on the same connection answers
   * after it), read every waiting run's counter: a message published while the connection was down is lost.
   */
  private async afterReconnect(sub: Redis): Promise<void> {
    try {
      await sub.ping();
    } catch {
      return; // down again; the next 'ready' comes back here
    }
    for (const set of this.waiters.values()) for (const w of set) this.recheck(w);
  }

  /** Wakes every waiter and closes the subscriber connection. */
  async close(): Promise<void> {
    this.closed = true;
    for (const set of this.waiters.values()) for (const w of set) w.wake();
    const sub = this.subscriber;
    this.subscriber = null;
    if (sub) {
      await sub.quit().catch(() => sub.disconnect());
    }
  }

  private async subscribe(channel: string): Promise<void> {
    if (!this.subscriber) {
      const sub = this.redis.duplicate();
      sub.on("error", (err) => {
        if (!this.closed) this.log?.warn({ err }, "steer signals: subscriber connection error");
      });
      let connectedBefore = false;
      sub.on("ready", () => {
        if (connectedBefore) void this.afterReconnect(sub);
        connectedBefore = true;
      });
      sub.on("message", (ch: string, message: string) => {
        const seq = Number(message);
        for (const w of this.waiters.get(ch) ?? []) {
          if (!Number.isFinite(seq) || seq > w.since) w.wake();
        }
      });
      this.subscriber = sub;
    }
    await this.subscriber.subscribe(channel);
  }
}
