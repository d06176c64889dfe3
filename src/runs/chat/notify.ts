/**
 * Who is mentioned (notified) in chat. A new best mentions the run's followers (the starter follows from the
 * start; `follow` / `unfollow` in the thread change the list) at most once per `notifyIntervalSec` per run, so
 * a run improving every minute does not ping people every minute. The final summary always mentions them all.
 *
 * The throttle lives in Redis (`SET key <eventId> NX EX interval`), so every bot process of a platform agrees;
 * a retry of the same event (its handler failed after taking the slot) gets the same answer again.
 */
import type { Redis } from "ioredis";
import type { RunRecord } from "../../store/types.ts";

export function notifyKey(platform: string, runId: string): string {
  return `aide:chat:notify:${platform}:${runId}`;
}

export class NotifyThrottle {
  constructor(
    private readonly deps: {
      redis: Redis;
      /** Seconds between two new-best mentions of one run; 0: every new best mentions. */
      intervalSec: number;
    },
  ) {}

  /**
   * The user ids to mention in the new-best post of `eventId`: the run's followers when the run's slot is free
   * (or already held by this same event), else nobody.
   */
  async mentionsForBest(run: RunRecord, eventId: string): Promise<string[]> {
    const followers = uniqueFollowers(run);
    if (followers.length === 0) return [];
    const seconds = Math.ceil(this.deps.intervalSec);
    if (seconds <= 0) return followers;
    const key = notifyKey(run.origin.platform, run.id);
    const taken = await this.deps.redis.set(key, eventId, "EX", seconds, "NX");
    if (taken === "OK") return followers;
    const holder = await this.deps.redis.get(key);
    return holder === eventId ? followers : [];
  }

  /** The final summary (and a failure) mentions every follower, throttle or not. */
  finalMentions(run: RunRecord): string[] {
    return uniqueFollowers(run);
  }
}

function uniqueFollowers(run: RunRecord): string[] {
  return [...new Set(run.followers.filter(Boolean))];
}
