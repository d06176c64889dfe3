/**
 * The wake-up channel for steering. The RunService saves a SteerMessage in MongoDB, then calls
 * `signalSteer(redis, runId)`: it bumps the counter `aide:steer-seq:<runId>` and publishes the new value on
 * `aide:steer:<runId>`. The runner waits with `SteerSignals.wait` (pub/sub, plus polling the counter so a
 * missed message, e.g. during a reconnect, still wakes it within `pollMs`) and then reads the unapplied
 * SteerMessages from MongoDB. The counter carries no commands: MongoDB is the source of truth.
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
  private readonly pollMs: number;
  private subscriber: Redis | null = null;
  private readonly waiters = new Map<string, Set<Waiter>>();
  private closed = false;

  constructor(opts: { redis: Redis; logger?: Logger; pollMs?: number }) {
    this.redis = opts.redis;
    this.log = opts.logger;
    this.pollMs = opts.pollMs ?? 2_000;
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
    const woken = new Promise<void>((resolve) => (wake = resolve));
    const waiter: Waiter = { runId, since, wake };
    let set = this.waiters.get(channel);
    if (!set) this.waiters.set(channel, (set = new Set()));
    set.add(waiter);

    const onAbort = () => wake();
    signal?.addEventListener("abort", onAbort, { once: true });
    let poll: NodeJS.Timeout | undefined;
    try {
      try {
        await this.subscribe(channel);
      } catch (err) {
        this.log?.warn({ err, runId }, "steer signals: subscribe failed; polling only");
      }
      // Anything signalled before the subscription took effect is visible in the counter.
      if ((await this.seq(runId).catch(() => since)) > since) return;
      poll = setInterval(() => {
        this.seq(runId).then(
          (s) => {
            if (s > since) wake();
          },
          (err) => this.log?.warn({ err, runId }, "steer signals: poll failed"),
        );
      }, this.pollMs);
      await woken;
    } finally {
      if (poll) clearInterval(poll);
      signal?.removeEventListener("abort", onAbort);
      set.delete(waiter);
      if (set.size === 0 && this.waiters.get(channel) === set) {
        this.waiters.delete(channel);
        this.subscriber?.unsubscribe(channel).catch(() => {});
      }
    }
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
