/**
 * Slack redelivers an event it thinks was not acknowledged (X-Slack-Retry-Num) and a user may double-submit:
 * each request is handled once, across every bot process, by claiming its id in Redis with SET NX.
 * Keys: `event:<event_id>` for Events API deliveries, `trigger:<trigger_id>` for commands and interactions.
 */
import type { Redis } from "ioredis";
import type { Logger } from "../../src/logger.ts";

export interface RequestDedupe {
  /** True the first time `key` is seen (within the TTL), false for a repeat. */
  firstTime(key: string): Promise<boolean>;
}

export class RedisDedupe implements RequestDedupe {
  constructor(
    private readonly redis: Redis,
    private readonly logger: Logger,
    private readonly opts: { prefix?: string; ttlSec?: number } = {},
  ) {}

  async firstTime(key: string): Promise<boolean> {
    const fullKey = `${this.opts.prefix ?? "aide:slack:seen:"}${key}`;
    try {
      const res = await this.redis.set(fullKey, String(Date.now()), "EX", this.opts.ttlSec ?? 24 * 3600, "NX");
      return res === "OK";
    } catch (err) {
      // Without Redis nothing else works either; handling the request beats dropping it.
      this.logger.warn({ key, err: (err as Error).message }, "slack: dedupe check failed; handling the request");
      return true;
    }
  }
}

/** The dedupe key of an incoming Slack request body, or null when it has none. */
export function dedupeKey(body: Record<string, unknown>): string | null {
  if (body.type === "event_callback" && typeof body.event_id === "string") return `event:${body.event_id}`;
  if (typeof body.trigger_id === "string" && body.trigger_id) return `trigger:${body.trigger_id}`;
  return null;
}
