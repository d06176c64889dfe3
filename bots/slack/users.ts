/**
 * Who is asking: a Slack user id -> ChatUser (display name through users.info, cached; admin from
 * config.slack.admins). A lookup that fails, or takes longer than `lookupWaitMs` (the Web API client retries a
 * failing Slack for minutes), falls back to the last name known, the payload's user name or the id: a name is
 * never worth a refused or delayed request. A slow lookup goes on in the background and fills the cache.
 */
import type { webApi } from "@slack/bolt";
import type { Logger } from "../../src/logger.ts";
import type { ChatUser } from "../../src/runs/chat/types.ts";
import { describeSlackError } from "./client.ts";

const CACHE_MS = 10 * 60 * 1000;
const CACHE_MAX = 5000;
/** How long a request waits for a name before it goes on with the fallback. */
const LOOKUP_WAIT_MS = 3000;

export class SlackUsers {
  private readonly cache = new Map<string, { name: string; at: number }>();
  /** Lookups under way, one per user (an outage must not pile up retrying calls for the same person). */
  private readonly pending = new Map<string, Promise<string | null>>();

  constructor(
    private readonly client: webApi.WebClient,
    private readonly admins: readonly string[],
    private readonly logger: Logger,
    private readonly lookupWaitMs = LOOKUP_WAIT_MS,
  ) {}

  isAdmin(userId: string): boolean {
    return this.admins.includes(userId);
  }

  /** `fallbackName`: the payload's user name (slash commands and buttons carry one), used when users.info fails. */
  async resolve(userId: string, fallbackName?: string): Promise<ChatUser> {
    return { userId, displayName: await this.displayName(userId, fallbackName), isAdmin: this.isAdmin(userId) };
  }

  private async displayName(userId: string, fallbackName?: string): Promise<string> {
    const hit = this.cache.get(userId);
    if (hit && Date.now() - hit.at < CACHE_MS) return hit.name;
    const fallback = hit?.name || fallbackName || userId;
    let timer: NodeJS.Timeout | undefined;
    const waited = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), this.lookupWaitMs)));
    const name = await Promise.race([this.lookup(userId), waited]);
    clearTimeout(timer);
    if (name === null)
      this.logger.warn({ userId }, "slack: users.info failed or is slow; using the name the request carries");
    return name ?? fallback;
  }

  /** users.info for one user, at most one call at a time per user; null when it failed. */
  private lookup(userId: string): Promise<string | null> {
    let p = this.pending.get(userId);
    if (!p) {
      p = this.client.users.info({ user: userId }).then(
        (res) => {
          const u = res.user;
          const name = u?.profile?.display_name || u?.real_name || u?.profile?.real_name || u?.name || null;
          if (name) this.remember(userId, name);
          return name;
        },
        (err: unknown) => {
          this.logger.warn({ userId, reason: describeSlackError(err) }, "slack: users.info failed");
          return null;
        },
      );
      void p.finally(() => this.pending.delete(userId));
      this.pending.set(userId, p);
    }
    return p;
  }

  private remember(userId: string, name: string): void {
    if (this.cache.size >= CACHE_MAX) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(userId, { name, at: Date.now() });
  }
}
