/**
 * Run events on Redis Streams.
 *
 * Streams: every event goes to two streams in one Lua script:
 *  - `aide:events` (global, MAXLEN ~ 100k): bots follow ALL runs with one consumer group per bot type
 *    (group `slack`, group `discord`); each bot instance is a consumer in its group.
 *  - `aide:events:<runId>` (MAXLEN ~ 10k, expires 30 days after the last event): `aide status` (last events)
 *    and `aide events <run> --follow` (XREAD without a group).
 *
 * Idempotence: each event has a deterministic id chosen by the publisher (see `eventIdFor`). Publishing
 * checks `SET aide:event-ids:<id> NX PX ttl` in the same script as the XADDs, so a resumed worker that re-emits
 * an event adds nothing. A consumer marks `aide:handled:<group>:<eventId>` after its handler resolved and
 * before XACK; a redelivered entry whose marker exists is acked and skipped. A crash between the handler's
 * effect (the chat post) and the marker can still repeat that one effect: at-least-once with a small window.
 */
import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import { AideError } from "../errors.ts";
import type { Logger } from "../logger.ts";
import type { RunEvent } from "../search/types.ts";
import { assertRunId, EVENTS_STREAM, keys } from "./keys.ts";
import { sleep } from "../util/sleep.ts";
import { LuaScript } from "./script.ts";

export { EVENTS_STREAM };

export type StoredRunEvent = RunEvent & { id: string };

export interface EventEntry {
  /** The stream entry id (`<ms>-<seq>`), usable as `fromId`. */
  entryId: string;
  event: StoredRunEvent;
}

export const EVENT_LIMITS = {
  globalMaxLen: 100_000,
  runMaxLen: 10_000,
  runStreamTtlSec: 30 * 24 * 3600,
  /** How long a published event id is remembered (a resumed run re-emitting within this window adds nothing). */
  dedupTtlMs: 14 * 24 * 3600 * 1000,
  /** How long a group remembers it handled an event. */
  handledTtlSec: 14 * 24 * 3600,
};

/**
 * Deterministic event ids for the events a run emits once per subject. `steer.applied` and `run.paused` happen
 * several times per run, so they need a discriminator (the SteerMessage id); so does `run.started`/`run.failed`
 * if a caller wants one per attempt.
 */
export function eventIdFor(event: RunEvent, discriminator?: string): string {
  const base = `${event.runId}:${event.type}`;
  switch (event.type) {
    case "step.started":
      return `${base}:${event.nodeId}`;
    case "step.finished":
    case "best.improved":
      return `${base}:${event.node.id}`;
    case "steer.applied":
    case "run.paused":
      if (!discriminator)
        throw new AideError("queue", "Internal error: event id needs a discriminator.", { detail: event.type });
      return `${base}:${discriminator}`;
    default:
      return discriminator ? `${base}:${discriminator}` : base;
  }
}

const PUBLISH = new LuaScript(`
if not redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[1]) then
  return false
end
local g = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', 'id', ARGV[5], 'type', ARGV[6], 'runId', ARGV[7], 'data', ARGV[8])
local r = redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[3], '*', 'id', ARGV[5], 'type', ARGV[6], 'runId', ARGV[7], 'data', ARGV[8])
redis.call('EXPIRE', KEYS[3], ARGV[4])
redis.call('SET', KEYS[1], g, 'PX', ARGV[1])
return {g, r}`);

export interface PublishResult {
  /** False when an event with this id was already published (nothing was added). */
  published: boolean;
  /** Entry id in the global stream (null when not published). */
  entryId: string | null;
  /** Entry id in the run's stream (null when not published). */
  runEntryId: string | null;
}

/** Publishes an event to the global and the run's stream, once per event id. */
export async function publishEvent(
  redis: Redis,
  event: StoredRunEvent,
  opts: { stream?: string } = {},
): Promise<PublishResult> {
  if (!event.id || typeof event.id !== "string")
    throw new AideError("queue", "Internal error: event without id.", { detail: event.type });
  assertRunId(event.runId);
  const r = await PUBLISH.run(
    redis,
    [keys.eventId(event.id), opts.stream ?? EVENTS_STREAM, keys.runEvents(event.runId)],
    [
      EVENT_LIMITS.dedupTtlMs,
      EVENT_LIMITS.globalMaxLen,
      EVENT_LIMITS.runMaxLen,
      EVENT_LIMITS.runStreamTtlSec,
      event.id,
      event.type,
      event.runId,
      JSON.stringify(event),
    ],
  );
  if (!Array.isArray(r)) return { published: false, entryId: null, runEntryId: null };
  return { published: true, entryId: String(r[0]), runEntryId: String(r[1]) };
}

/** Stream entry as returned by XRANGE/XREAD: [id, [field, value, ...]] (fields null for a deleted entry). */
type RawEntry = [string, string[] | null];

function parseEntry(raw: RawEntry): { entryId: string; event: StoredRunEvent | null } {
  const [entryId, fields] = raw;
  if (!fields) return { entryId, event: null };
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (fields[i] === "data") {
      try {
        const event = JSON.parse(fields[i + 1]!) as StoredRunEvent;
        return { entryId, event: event && typeof event.id === "string" ? event : null };
      } catch {
        return { entryId, event: null };
      }
    }
  }
  return { entryId, event: null };
}

function toEntries(raws: RawEntry[]): EventEntry[] {
  const out: EventEntry[] = [];
  for (const raw of raws) {
    const p = parseEntry(raw);
    if (p.event) out.push({ entryId: p.entryId, event: p.event });
  }
  return out;
}

/**
 * A run's events. Without `fromId`: the last `count` events (oldest first), for `aide status`. With
 * `fromId`: up to `count` events after that entry id (exclusive), for paging.
 */
export async function readEvents(redis: Redis, runId: string, fromId?: string, count = 20): Promise<EventEntry[]> {
  assertRunId(runId);
  const key = keys.runEvents(runId);
  if (fromId === undefined) {
    const raws = (await redis.xrevrange(key, "+", "-", "COUNT", count)) as RawEntry[];
    return toEntries(raws.reverse());
  }
  const raws = (await redis.xrange(key, `(${fromId}`, "+", "COUNT", count)) as RawEntry[];
  return toEntries(raws);
}

/**
 * Follows a run's events (XREAD BLOCK on a dedicated connection, no group) until `signal` aborts or `until`
 * returns true for an event. `fromId` defaults to the run's current last entry (only new events); pass the
 * last `entryId` from `readEvents` to continue without a gap, or "0" for everything.
 */
export async function followEvents(
  redis: Redis,
  runId: string,
  onEvent: (entry: EventEntry) => void | Promise<void>,
  signal: AbortSignal,
  opts: { fromId?: string; blockMs?: number; until?: (event: StoredRunEvent) => boolean } = {},
): Promise<void> {
  assertRunId(runId);
  const key = keys.runEvents(runId);
  let last = opts.fromId;
  if (last === undefined) {
    const tail = (await redis.xrevrange(key, "+", "-", "COUNT", 1)) as RawEntry[];
    last = tail[0]?.[0] ?? "0-0";
  }
  if (signal.aborted) return;
  const conn = redis.duplicate();
  conn.on("error", () => {});
  const onAbort = () => conn.disconnect();
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    while (!signal.aborted) {
      let res: unknown;
      try {
        res = await conn.call("XREAD", "COUNT", 100, "BLOCK", opts.blockMs ?? 5_000, "STREAMS", key, last);
      } catch (err) {
        if (signal.aborted) return;
        throw err;
      }
      if (!res) continue;
      const streams = res as Array<[string, RawEntry[]]>;
      for (const [, raws] of streams) {
        for (const raw of raws) {
          last = raw[0];
          const p = parseEntry(raw);
          if (!p.event) continue;
          await onEvent({ entryId: p.entryId, event: p.event });
          if (opts.until?.(p.event)) return;
          if (signal.aborted) return;
        }
      }
    }
  } finally {
    signal.removeEventListener("abort", onAbort);
    conn.disconnect();
  }
}

// ---------------------------------------------------------------------------------------------------------

export type EventHandler = (event: StoredRunEvent, meta: { entryId: string; redelivered: boolean }) => Promise<void>;

export interface EventConsumerOptions {
  redis: Redis;
  /** Default `aide:events`. */
  stream?: string;
  /** One group per bot type, e.g. `slack`. */
  group: string;
  /** Unique and stable per bot instance (e.g. host name + pid); a restarted instance with the same name resumes its pending entries at once. */
  consumer: string;
  logger: Logger;
  /** Where a new group starts: "$" (only new events; default) or "0" (the whole stream). */
  startId?: string;
  /** XREADGROUP BLOCK timeout. Default 2 s. */
  blockMs?: number;
  /** Entries per read. Default 20. */
  count?: number;
  /**
   * Pending entries idle longer than this are claimed (XAUTOCLAIM) from any consumer of the group, including
   * a dead one and this one (a handler that threw is retried this way). Default 60 s. Handlers must finish
   * well within it.
   */
  claimIdleMs?: number;
  /** How often to look for such entries. Default claimIdleMs / 2. */
  claimIntervalMs?: number;
  /** A handler failing this many times for one event gives up on it (logged and acked). Default 20. */
  maxAttempts?: number;
}

const RELEASE_HANDLING = new LuaScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`);

/**
 * A consumer-group reader of the event stream: calls the handler for each event, XACKs only after the handler
 * resolved, retries failed and abandoned entries via XAUTOCLAIM, and never handles an event twice per group
 * (processed markers plus a short per-event handling lock).
 */
export class EventConsumer {
  private readonly redis: Redis;
  private readonly stream: string;
  private readonly group: string;
  private readonly consumer: string;
  private readonly log: Logger;
  private readonly blockMs: number;
  private readonly count: number;
  private readonly claimIdleMs: number;
  private readonly claimIntervalMs: number;
  private readonly maxAttempts: number;
  private readonly startId: string;
  private blocking: Redis | null = null;
  private loop: Promise<void> | null = null;
  private stopped = false;
  private handler: EventHandler | null = null;

  constructor(opts: EventConsumerOptions) {
    this.redis = opts.redis;
    this.stream = opts.stream ?? EVENTS_STREAM;
    this.group = opts.group;
    this.consumer = opts.consumer;
    this.log = opts.logger.child({ stream: this.stream, group: this.group, consumer: this.consumer });
    this.blockMs = opts.blockMs ?? 2_000;
    this.count = opts.count ?? 20;
    this.claimIdleMs = opts.claimIdleMs ?? 60_000;
    this.claimIntervalMs = opts.claimIntervalMs ?? Math.max(100, Math.floor(this.claimIdleMs / 2));
    this.maxAttempts = opts.maxAttempts ?? 20;
    this.startId = opts.startId ?? "$";
  }

  /** Creates the group if needed, then reads in the background until `stop()`. Resolves once the group exists. */
  async start(handler: EventHandler): Promise<void> {
    if (this.loop) throw new Error("EventConsumer already started");
    this.handler = handler;
    this.stopped = false;
    await this.ensureGroup();
    this.blocking = this.redis.duplicate();
    this.blocking.on("error", (err) => {
      if (!this.stopped) this.log.warn({ err }, "event consumer: blocking connection error");
    });
    this.loop = this.run().catch((err) => this.log.error({ err }, "event consumer: loop ended with an error"));
  }

  /** Ends the loop: waits for a handler in progress, then closes the blocking connection. */
  async stop(): Promise<void> {
    this.stopped = true;
    // Interrupts a pending XREADGROUP BLOCK; anything it had read stays pending and is redelivered later.
    this.blocking?.disconnect();
    await this.loop;
    this.loop = null;
    this.blocking = null;
  }

  private async ensureGroup(): Promise<void> {
    try {
      await this.redis.xgroup("CREATE", this.stream, this.group, this.startId, "MKSTREAM");
    } catch (err) {
      if (!(err instanceof Error && err.message.includes("BUSYGROUP"))) throw err;
    }
  }

  private async run(): Promise<void> {
    // First our own pending entries (a restart with the same consumer name), then new ones.
    try {
      await this.drainOwnPending();
    } catch (err) {
      if (this.stopped) return;
      this.log.warn({ err }, "event consumer: reading own pending entries failed; they will be claimed later");
    }
    let nextClaim = Date.now() + this.claimIntervalMs;
    let backoff = 100;
    while (!this.stopped) {
      try {
        if (Date.now() >= nextClaim) {
          await this.claimStale();
          nextClaim = Date.now() + this.claimIntervalMs;
        }
        const block = Math.max(10, Math.min(this.blockMs, nextClaim - Date.now()));
        const res = await this.blocking!.call(
          "XREADGROUP",
          "GROUP",
          this.group,
          this.consumer,
          "COUNT",
          this.count,
          "BLOCK",
          block,
          "STREAMS",
          this.stream,
          ">",
        );
        backoff = 100;
        if (!res) continue;
        for (const [, raws] of res as Array<[string, RawEntry[]]>) {
          for (const raw of raws) {
            if (this.stopped) return;
            await this.handleEntry(raw, false);
          }
        }
      } catch (err) {
        if (this.stopped) return;
        if (err instanceof Error && err.message.includes("NOGROUP")) {
          this.log.warn("event consumer: group or stream vanished; recreating");
          await this.ensureGroup().catch(() => {});
        } else {
          this.log.warn({ err }, "event consumer: read failed; retrying");
        }
        await sleep(backoff);
        backoff = Math.min(backoff * 2, 5_000);
      }
    }
  }

  private async drainOwnPending(): Promise<void> {
    let from = "0";
    while (!this.stopped) {
      const res = (await this.redis.call(
        "XREADGROUP",
        "GROUP",
        this.group,
        this.consumer,
        "COUNT",
        this.count,
        "STREAMS",
        this.stream,
        from,
      )) as Array<[string, RawEntry[]]> | null;
      const raws = res?.[0]?.[1] ?? [];
      if (raws.length === 0) return;
      for (const raw of raws) {
        if (this.stopped) return;
        from = raw[0];
        await this.handleEntry(raw, true);
      }
    }
  }

  /** Claims entries idle longer than claimIdleMs (dead consumers, or handlers that threw) and handles them. */
  private async claimStale(): Promise<void> {
    let cursor = "0-0";
    for (let round = 0; round < 10 && !this.stopped; round++) {
      const res = (await this.redis.call(
        "XAUTOCLAIM",
        this.stream,
        this.group,
        this.consumer,
        this.claimIdleMs,
        cursor,
        "COUNT",
        this.count,
      )) as [string, RawEntry[], string[]?];
      const [next, raws, deleted] = res;
      if (deleted && deleted.length > 0) {
        this.log.warn(
          { entryIds: deleted },
          "event consumer: pending entries were trimmed from the stream before being handled",
        );
      }
      for (const raw of raws) {
        if (this.stopped) return;
        await this.handleEntry(raw, true);
      }
      if (next === "0-0") return;
      cursor = next;
    }
  }

  private async ack(entryId: string): Promise<void> {
    await this.redis.xack(this.stream, this.group, entryId);
  }

  private async handleEntry(raw: RawEntry, redelivered: boolean): Promise<void> {
    const { entryId, event } = parseEntry(raw);
    if (!event) {
      this.log.warn({ entryId }, "event consumer: unreadable or deleted entry; acked and skipped");
      await this.ack(entryId);
      return;
    }
    const handledKey = keys.handled(this.group, event.id);
    if ((await this.redis.exists(handledKey)) === 1) {
      this.log.debug({ entryId, eventId: event.id }, "event consumer: already handled; acked");
      await this.ack(entryId);
      return;
    }
    // Another consumer of this group may be handling it right now (it was claimed from a slow consumer).
    const handlingKey = keys.handling(this.group, event.id);
    const token = randomUUID();
    const lockMs = this.claimIdleMs * 2;
    if ((await this.redis.set(handlingKey, token, "PX", lockMs, "NX")) !== "OK") {
      this.log.debug({ entryId, eventId: event.id }, "event consumer: being handled elsewhere; left pending");
      return;
    }
    try {
      try {
        await this.handler!(event, { entryId, redelivered });
      } catch (err) {
        const failures = await this.redis
          .multi()
          .incr(keys.failures(this.group, event.id))
          .expire(keys.failures(this.group, event.id), EVENT_LIMITS.handledTtlSec)
          .exec();
        const n = Number(failures?.[0]?.[1] ?? 1);
        if (n >= this.maxAttempts) {
          this.log.error(
            { err, entryId, eventId: event.id, failures: n },
            "event consumer: handler keeps failing; giving up on this event",
          );
          await this.ack(entryId);
        } else {
          this.log.warn(
            { err, entryId, eventId: event.id, failures: n },
            "event consumer: handler failed; left pending for a retry",
          );
        }
        return;
      }
      await this.redis
        .multi()
        .set(handledKey, entryId, "EX", EVENT_LIMITS.handledTtlSec)
        .xack(this.stream, this.group, entryId)
        .del(keys.failures(this.group, event.id))
        .exec();
    } finally {
      await RELEASE_HANDLING.run(this.redis, [handlingKey], [token]).catch(() => {});
    }
  }
}
