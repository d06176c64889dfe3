/**
 * Pacing of outbound chat calls, independent of Slack's client:
 * - `EditCoalescer`: edits of one message are sent one at a time, at most once per `minIntervalMs`, and the
 *   latest content wins. An edit that can go out at once is sent and awaited (its caller sees a failure). An
 *   edit that arrives while another is in flight or too soon after one is parked (replacing any parked content)
 *   and its caller returns at once: the coalescer owns its delivery, sends it when the interval allows, retries
 *   it (with the latest content) after a failure, and reports through `onError`. So a caller that awaits every
 *   edit (the bridge) is never slowed down to the edit rate, and no stale content overwrites newer content.
 * - `SerialQueues`: tasks with the same key run one after another, in the order they were queued (thread posts
 *   per channel keep their order even when the client retries a rate-limited call).
 */

interface EditSlot<T> {
  /** Content waiting for its turn (the latest wins), and how many times it failed to send. */
  pending: { value: T; failures: number } | null;
  inFlight: boolean;
  timer: NodeJS.Timeout | null;
  /**
   * When the last send ended. The interval counts from there, not from its start: a send that the client held
   * back and retried (429) must not be followed by another edit at once.
   */
  lastSend: number;
}

export interface EditCoalescerOptions<T> {
  minIntervalMs: number;
  send: (key: string, value: T) => Promise<void>;
  /** A deferred edit failed; `gaveUp`: no more attempts for this content. */
  onError?: (key: string, err: unknown, gaveUp: boolean) => void;
  /** Attempts of a deferred edit after a failed send (each waits `retryDelayMs` x 2^n). Default 3. */
  retries?: number;
  retryDelayMs?: number;
  now?: () => number;
}

export class EditCoalescer<T> {
  private readonly slots = new Map<string, EditSlot<T>>();
  private readonly idleWaiters: Array<() => void> = [];
  private closed = false;
  private readonly now: () => number;

  constructor(private readonly opts: EditCoalescerOptions<T>) {
    this.now = opts.now ?? Date.now;
  }

  submit(key: string, value: T): Promise<void> {
    if (this.closed) return Promise.reject(new Error("The chat surface is closed."));
    let slot = this.slots.get(key);
    if (!slot) {
      slot = { pending: null, inFlight: false, timer: null, lastSend: -Infinity };
      this.slots.set(key, slot);
    }
    if (!slot.inFlight && !slot.timer && this.now() - slot.lastSend >= this.opts.minIntervalMs) {
      // Free to go now: send and let the caller see the outcome.
      slot.pending = null;
      return this.sendNow(key, slot, value);
    }
    slot.pending = { value, failures: 0 };
    this.schedule(key, slot, 0);
    return Promise.resolve();
  }

  /** Edits parked or in flight. */
  get size(): number {
    let n = 0;
    for (const s of this.slots.values()) if (s.pending || s.inFlight) n += 1;
    return n;
  }

  /** Waits until nothing is parked or in flight (parked edits still keep their interval). */
  async flush(): Promise<void> {
    while (this.size > 0) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  /** Drops parked edits and sends nothing more. */
  close(): void {
    this.closed = true;
    for (const slot of this.slots.values()) {
      if (slot.timer) clearTimeout(slot.timer);
      slot.timer = null;
      slot.pending = null;
    }
    this.wakeIdle();
  }

  private async sendNow(key: string, slot: EditSlot<T>, value: T): Promise<void> {
    slot.inFlight = true;
    try {
      await this.opts.send(key, value);
    } finally {
      slot.inFlight = false;
      slot.lastSend = this.now();
      this.afterSend(key, slot);
    }
  }

  private schedule(key: string, slot: EditSlot<T>, extraDelayMs: number): void {
    if (slot.inFlight || slot.timer || !slot.pending || this.closed) return;
    const wait = Math.max(extraDelayMs, slot.lastSend + this.opts.minIntervalMs - this.now(), 0);
    slot.timer = setTimeout(() => {
      slot.timer = null;
      void this.fireDeferred(key, slot);
    }, wait);
  }

  private async fireDeferred(key: string, slot: EditSlot<T>): Promise<void> {
    const batch = slot.pending;
    if (!batch || slot.inFlight || this.closed) return;
    slot.pending = null;
    slot.inFlight = true;
    let retryDelay = 0;
    try {
      await this.opts.send(key, batch.value);
    } catch (err) {
      const retries = this.opts.retries ?? 3;
      const gaveUp = batch.failures >= retries;
      this.opts.onError?.(key, err, gaveUp && !slot.pending);
      if (!gaveUp && !slot.pending) {
        // Nothing newer arrived meanwhile: try this content again later.
        slot.pending = { value: batch.value, failures: batch.failures + 1 };
        retryDelay = (this.opts.retryDelayMs ?? 2000) * 2 ** batch.failures;
      }
    } finally {
      slot.inFlight = false;
      slot.lastSend = this.now();
      this.afterSend(key, slot, retryDelay);
    }
  }

  private afterSend(key: string, slot: EditSlot<T>, extraDelayMs = 0): void {
    if (slot.pending) {
      this.schedule(key, slot, extraDelayMs);
      return;
    }
    this.wakeIdle();
    // Forget an idle slot once its interval has passed (it only remembers when the last edit ended).
    const t = setTimeout(() => {
      const idle = !slot.pending && !slot.inFlight && !slot.timer && this.now() - slot.lastSend >= this.opts.minIntervalMs;
      if (idle && this.slots.get(key) === slot) this.slots.delete(key);
    }, this.opts.minIntervalMs + 10);
    t.unref();
  }

  private wakeIdle(): void {
    if (this.size > 0) return;
    for (const w of this.idleWaiters.splice(0)) w();
  }
}

export class SerialQueues {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const before = this.tails.get(key) ?? Promise.resolve();
    const result = before.then(task, task);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }

  /** Waits until every queue is empty. */
  async idle(): Promise<void> {
    while (this.tails.size > 0) await Promise.all([...this.tails.values()]);
  }
}
