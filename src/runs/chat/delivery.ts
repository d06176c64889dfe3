/**
 * Delivery of outbound chat calls, shared by every platform's surface (bots/slack, bots/discord). The platform
 * code only makes its API calls and says what a failure means (`classify`); pacing, ordering, coalescing and
 * retrying are done here, once:
 *
 * - `inOrder(channel, task)`: tasks of one channel run one after another, in the order they were queued (a
 *   thread reads in the order messages were posted, even when a call is rate limited and retried).
 * - `send(what, call, channel?)`: one platform call, paced to the channel's post rate when a channel is given,
 *   retried when it fails in a way worth retrying: after the platform's own retry-after when it gives one
 *   (the adapter translates its rate-limit error into `retryAfterMs`), else with exponential backoff. A call
 *   that still fails ends in a `DeliveryError` with a code.
 * - `edit(channel, messageId, call)`: edits of one message are sent one at a time, at most one per
 *   `editIntervalMs` and within the channel's edit rate; the latest content wins. An edit that can go out at
 *   once is sent (retried) and awaited, so its caller sees a failure. One that arrives while another is in
 *   flight or too soon is parked (replacing any parked content) and its caller returns at once: delivery owns
 *   it, sends it when the limits allow, retries it (with whatever content is newest by then), and logs a give-up.
 *   A caller that awaits every edit (the bridge) is therefore never slowed to the edit rate, and stale content
 *   never overwrites newer content.
 *
 * What a platform allows (Slack's one edit a second, Discord's 5 edits per 5 s in a channel) is passed in as
 * `limits`; nothing here knows a platform.
 */
import { AideError } from "../../errors.ts";
import type { Logger } from "../../logger.ts";
import { sleep } from "../../util/sleep.ts";

/** What a failed platform call means, as the adapter translates its platform's error. */
export interface Failure {
  /** Worth trying again (a rate limit, a server error, the network). False: the platform refused the call. */
  retryable: boolean;
  /** The platform's own wait before the next attempt (a 429's Retry-After), in ms. */
  retryAfterMs?: number;
  /** A short description for logs and messages (never a token or a request body). */
  reason: string;
}

export type DeliveryErrorCode =
  /** Still rate limited after the last attempt, or told to wait longer than `maxRetryAfterMs`. */
  | "rate_limited"
  /** Server errors or network failures through every attempt. */
  | "unavailable"
  /** The platform refused the call (retrying would fail again). */
  | "rejected"
  /** The surface was closed before the call could go out (again). */
  | "closed";

export class DeliveryError extends AideError {
  declare readonly code: DeliveryErrorCode;

  constructor(
    code: DeliveryErrorCode,
    userMessage: string,
    /** Calls made for it. */
    readonly attempts: number,
    options: { cause?: unknown; detail?: string } = {},
  ) {
    super(code, userMessage, options);
  }
}

export interface RetryPolicy {
  /** Attempts after the first. */
  retries: number;
  /** Wait after a failure without a retry-after: minDelayMs × factor^n, at most maxDelayMs (× 1..2 with jitter). */
  minDelayMs: number;
  maxDelayMs: number;
  factor: number;
  jitter: boolean;
  /** A retry-after longer than this is not waited for: the call fails as rate_limited. */
  maxRetryAfterMs: number;
}

/** Eight retries: about a minute and a half of outage (plus the retry-after waits) before a call gives up. */
export const DEFAULT_RETRY: RetryPolicy = {
  retries: 8,
  minDelayMs: 500,
  maxDelayMs: 30_000,
  factor: 2,
  jitter: true,
  maxRetryAfterMs: 5 * 60_000,
};

/** At most `max` calls in any `perMs` milliseconds. */
export interface Rate {
  max: number;
  perMs: number;
}

/** What a platform allows; each adapter passes its own. */
export interface DeliveryLimits {
  /** Least time between two edits of one message, from the end of one to the start of the next. */
  editIntervalMs: number;
  /** Edits in one channel, all its messages together. */
  editsPerChannel?: Rate;
  /** Calls made with `send` for one channel (posts, uploads). */
  postsPerChannel?: Rate;
}

export interface RetryInfo {
  what: string;
  /** The attempt that failed (1: the first call). */
  attempt: number;
  delayMs: number;
  failure: Failure;
}

export interface DeliveryOptions {
  /** The platform's name in messages and logs ("Slack", "Discord"). */
  platform: string;
  logger: Logger;
  /** The adapter's translation of its platform's errors. */
  classify: (err: unknown) => Failure;
  limits: DeliveryLimits;
  retry?: Partial<RetryPolicy>;
  /** Told of every retry (the log says it too). */
  onRetry?: (info: RetryInfo) => void;
}

/** Tuning a surface accepts and hands to its Delivery (tests use shorter waits). */
export interface DeliveryTuning {
  /** Shorthand for `limits.editIntervalMs`. */
  editIntervalMs?: number;
  limits?: Partial<DeliveryLimits>;
  retry?: Partial<RetryPolicy>;
  onRetry?: (info: RetryInfo) => void;
}

/** The wait before attempt `failures + 1` of a call that failed `failures` times, the last time with `failure`. */
export function retryDelayMs(
  policy: RetryPolicy,
  failure: Failure,
  failures: number,
  random: () => number = Math.random,
): number {
  if (failure.retryAfterMs !== undefined) return Math.max(0, failure.retryAfterMs);
  const base = Math.min(policy.maxDelayMs, policy.minDelayMs * policy.factor ** Math.max(0, failures - 1));
  return Math.min(policy.maxDelayMs, Math.round(policy.jitter ? base * (1 + random()) : base));
}

/** Calls made in the last `perMs`, per channel. */
class RateWindows {
  private readonly windows = new Map<string, number[]>();

  constructor(private readonly rate: Rate | undefined) {}

  /** How long until a call may go out in `channel` (0: now). */
  waitMs(channel: string, now: number): number {
    if (!this.rate) return 0;
    const times = this.recent(channel, now);
    return times.length < this.rate.max ? 0 : times[0]! + this.rate.perMs - now;
  }

  take(channel: string, now: number): void {
    if (!this.rate) return;
    const times = this.recent(channel, now);
    times.push(now);
    this.windows.set(channel, times);
    if (this.windows.size > 1000)
      for (const [key, t] of this.windows)
        if (!t.length || t.at(-1)! <= now - this.rate.perMs) this.windows.delete(key);
  }

  private recent(channel: string, now: number): number[] {
    const times = this.windows.get(channel) ?? [];
    while (times.length && times[0]! <= now - this.rate!.perMs) times.shift();
    return times;
  }
}

interface EditSlot {
  channel: string;
  /** Content waiting for its turn (the latest wins), and how many times it failed to go out. */
  pending: { call: () => Promise<void>; failures: number } | null;
  inFlight: boolean;
  timer: NodeJS.Timeout | null;
  /** When the last edit ended: the interval counts from there (a call held back by a 429 must not be followed at once). */
  lastEnd: number;
}

export class Delivery {
  private readonly log: Logger;
  private readonly policy: RetryPolicy;
  private readonly queues = new Map<string, Promise<void>>();
  private readonly slots = new Map<string, EditSlot>();
  private readonly postWindows: RateWindows;
  private readonly editWindows: RateWindows;
  private readonly idleWaiters: Array<() => void> = [];
  private readonly closing = new AbortController();

  constructor(private readonly opts: DeliveryOptions) {
    this.log = opts.logger.child({ component: "chat-delivery", platform: opts.platform });
    this.policy = { ...DEFAULT_RETRY, ...opts.retry };
    this.postWindows = new RateWindows(opts.limits.postsPerChannel);
    this.editWindows = new RateWindows(opts.limits.editsPerChannel);
  }

  get closed(): boolean {
    return this.closing.signal.aborted;
  }

  /** Runs `task` after every task queued before it for `channel`. */
  inOrder<T>(channel: string, task: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(this.closedError("message"));
    const result = (this.queues.get(channel) ?? Promise.resolve()).then(task);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.queues.set(channel, tail);
    void tail.then(() => {
      if (this.queues.get(channel) === tail) this.queues.delete(channel);
    });
    return result;
  }

  /** One platform call: paced to `channel`'s post rate when given, retried per the policy. */
  send<T>(what: string, call: () => Promise<T>, channel?: string): Promise<T> {
    return this.attempts(what, call, channel === undefined ? undefined : () => this.paced(this.postWindows, channel));
  }

  /** Edits a message (see the file's comment): awaited when it can go out now, else parked, latest wins. */
  edit(channel: string, messageId: string, call: () => Promise<void>): Promise<void> {
    if (this.closed) return Promise.reject(this.closedError("edit"));
    const key = `${channel}\u0000${messageId}`;
    let slot = this.slots.get(key);
    if (!slot) {
      slot = { channel, pending: null, inFlight: false, timer: null, lastEnd: -Infinity };
      this.slots.set(key, slot);
    }
    if (!slot.inFlight && !slot.timer && !slot.pending && this.editWaitMs(slot) === 0)
      return this.editNow(key, slot, call);
    slot.pending = { call, failures: 0 };
    this.scheduleEdit(key, slot, 0);
    return Promise.resolve();
  }

  /** Waits until nothing is queued, parked or in flight (parked edits keep their interval). */
  async flush(): Promise<void> {
    for (;;) {
      const waits: Promise<unknown>[] = [...this.queues.values()];
      if (this.busyEdits() > 0) waits.push(new Promise<void>((resolve) => this.idleWaiters.push(resolve)));
      if (waits.length === 0) return;
      await Promise.all(waits);
    }
  }

  /**
   * Refuses new calls, sends parked edits at once (one attempt each), stops waiting to retry (a call that fails
   * from now on ends as `closed`) and waits for what is under way.
   */
  async close(): Promise<void> {
    if (!this.closed) this.closing.abort();
    for (const [key, slot] of this.slots) {
      if (slot.timer) clearTimeout(slot.timer);
      slot.timer = null;
      if (slot.pending && !slot.inFlight) void this.fireEdit(key, slot, true);
    }
    await this.flush();
  }

  // ------------------------------------------------------------------------------------------ calls and retries

  private async attempts<T>(what: string, call: () => Promise<T>, pace?: () => Promise<void>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      await pace?.();
      try {
        return await call();
      } catch (err) {
        const failure = this.failureOf(err);
        const error = this.giveUp(what, failure, attempt, err);
        if (error) {
          this.log.error(
            { what, attempts: attempt, code: error.code, reason: failure.reason },
            `${this.opts.platform}: gave up on a ${what}`,
          );
          throw error;
        }
        const delayMs = retryDelayMs(this.policy, failure, attempt);
        this.reportRetry({ what, attempt, delayMs, failure });
        await this.sleep(delayMs);
      }
    }
  }

  private failureOf(err: unknown): Failure {
    if (err instanceof DeliveryError) return { retryable: false, reason: err.message };
    return this.opts.classify(err);
  }

  /** The error that ends a call after `attempts` attempts, the last failing with `failure`; null: try again. */
  private giveUp(what: string, failure: Failure, attempts: number, cause: unknown): DeliveryError | null {
    const name = this.opts.platform;
    const options = { cause, detail: failure.reason };
    if (cause instanceof DeliveryError) return cause;
    if (!failure.retryable) return new DeliveryError("rejected", `${name} refused the ${what}.`, attempts, options);
    if (this.closed) return this.closedError(what, attempts, cause);
    const rateLimited = failure.retryAfterMs !== undefined;
    if (rateLimited && failure.retryAfterMs! > this.policy.maxRetryAfterMs) {
      return new DeliveryError(
        "rate_limited",
        `${name} asked the bot to wait ${Math.ceil(failure.retryAfterMs! / 1000)} s; the ${what} was not sent.`,
        attempts,
        options,
      );
    }
    if (attempts <= this.policy.retries) return null;
    return rateLimited
      ? new DeliveryError(
          "rate_limited",
          `${name} kept rate limiting the bot; the ${what} was not sent after ${attempts} attempts.`,
          attempts,
          options,
        )
      : new DeliveryError(
          "unavailable",
          `${name} kept failing; the ${what} was not sent after ${attempts} attempts.`,
          attempts,
          options,
        );
  }

  private closedError(what: string, attempts = 0, cause?: unknown): DeliveryError {
    return new DeliveryError(
      "closed",
      `The ${this.opts.platform} bot is stopping; the ${what} was not sent.`,
      attempts,
      cause === undefined ? {} : { cause },
    );
  }

  private reportRetry(info: RetryInfo): void {
    this.log.warn(
      { what: info.what, attempt: info.attempt, delayMs: info.delayMs, reason: info.failure.reason },
      `${this.opts.platform}: a ${info.what} failed; retrying`,
    );
    this.opts.onRetry?.(info);
  }

  /** Waits until `windows` allows a call in `channel`, and takes the place. */
  private async paced(windows: RateWindows, channel: string): Promise<void> {
    for (
      let wait = windows.waitMs(channel, Date.now());
      wait > 0 && !this.closed;
      wait = windows.waitMs(channel, Date.now())
    )
      await this.sleep(wait);
    windows.take(channel, Date.now());
  }

  /** A timer that ends early when the delivery closes. */
  private sleep(ms: number): Promise<void> {
    if (ms <= 0 || this.closed) return Promise.resolve();
    return sleep(ms, this.closing.signal).catch(() => undefined);
  }

  // ------------------------------------------------------------------------------------------ edits

  private editWaitMs(slot: EditSlot): number {
    const now = Date.now();
    return Math.max(
      0,
      slot.lastEnd + this.opts.limits.editIntervalMs - now,
      this.editWindows.waitMs(slot.channel, now),
    );
  }

  private async editNow(key: string, slot: EditSlot, call: () => Promise<void>): Promise<void> {
    slot.inFlight = true;
    try {
      await this.attempts("edit", call, () => this.paced(this.editWindows, slot.channel));
    } finally {
      slot.inFlight = false;
      slot.lastEnd = Date.now();
      this.afterEdit(key, slot, 0);
    }
  }

  private scheduleEdit(key: string, slot: EditSlot, extraDelayMs: number): void {
    if (slot.inFlight || slot.timer || !slot.pending || this.closed) return;
    slot.timer = setTimeout(
      () => {
        slot.timer = null;
        void this.fireEdit(key, slot, false);
      },
      Math.max(extraDelayMs, this.editWaitMs(slot)),
    );
  }

  /** Sends the parked content once; a retryable failure parks it again (unless newer content came meanwhile). */
  private async fireEdit(key: string, slot: EditSlot, now: boolean): Promise<void> {
    const job = slot.pending;
    if (!job || slot.inFlight) return;
    if (!now && this.editWaitMs(slot) > 0) {
      // Another message of the channel took the place meanwhile.
      this.scheduleEdit(key, slot, 0);
      return;
    }
    this.editWindows.take(slot.channel, Date.now());
    slot.pending = null;
    slot.inFlight = true;
    let retryDelay = 0;
    try {
      await job.call();
    } catch (err) {
      const failure = this.failureOf(err);
      const error = this.giveUp("edit", failure, job.failures + 1, err);
      if (slot.pending) {
        this.log.warn({ reason: failure.reason }, `${this.opts.platform}: an edit failed; newer content goes next`);
      } else if (error) {
        this.log.error(
          { attempts: job.failures + 1, code: error.code, reason: failure.reason },
          `${this.opts.platform}: gave up on an edit`,
        );
      } else {
        retryDelay = retryDelayMs(this.policy, failure, job.failures + 1);
        this.reportRetry({ what: "edit", attempt: job.failures + 1, delayMs: retryDelay, failure });
        slot.pending = { call: job.call, failures: job.failures + 1 };
      }
    } finally {
      slot.inFlight = false;
      slot.lastEnd = Date.now();
      this.afterEdit(key, slot, retryDelay);
    }
  }

  private afterEdit(key: string, slot: EditSlot, extraDelayMs: number): void {
    if (slot.pending) {
      if (this.closed) void this.fireEdit(key, slot, true);
      else this.scheduleEdit(key, slot, extraDelayMs);
      return;
    }
    if (this.busyEdits() === 0) for (const wake of this.idleWaiters.splice(0)) wake();
    // Forget an idle slot once its interval has passed (it only remembers when its last edit ended).
    const forget = setTimeout(() => {
      const idle =
        !slot.pending && !slot.inFlight && !slot.timer && Date.now() - slot.lastEnd >= this.opts.limits.editIntervalMs;
      if (idle && this.slots.get(key) === slot) this.slots.delete(key);
    }, this.opts.limits.editIntervalMs + 10);
    forget.unref();
  }

  private busyEdits(): number {
    let n = 0;
    for (const s of this.slots.values()) if (s.pending || s.inFlight) n++;
    return n;
  }
}

/** A Delivery with a platform's own limits, adjusted by a surface's tuning (shorter waits in tests). */
export function tunedDelivery(base: Omit<DeliveryOptions, "retry" | "onRetry">, tuning: DeliveryTuning = {}): Delivery {
  const editInterval = tuning.editIntervalMs !== undefined ? { editIntervalMs: tuning.editIntervalMs } : {};
  return new Delivery({
    ...base,
    limits: { ...base.limits, ...editInterval, ...tuning.limits },
    retry: tuning.retry,
    onRetry: tuning.onRetry,
  });
}
