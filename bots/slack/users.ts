/**
 * Who is asking: a Slack user id -> ChatUser (display name through users.info, cached; admin from
 * config.slack.admins). A lookup that fails falls back to the payload's user name or the id: a name is never
 * worth a refused request.
 */
import type { webApi } from "@slack/bolt";
import type { Logger } from "../../src/logger.ts";
import type { ChatUser } from "../../src/runs/chat/types.ts";
import { describeSlackError } from "./client.ts";

const CACHE_MS = 10 * 60 * 1000;
const CACHE_MAX = 5000;

export class SlackUsers {
  private readonly cache = new Map<string, { name: string; at: number }>();

  constructor(
    private readonly client: webApi.WebClient,
    private readonly admins: readonly string[],
    private readonly logger: Logger,
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
    try {
      const res = await this.client.users.info({ user: userId });
      const u = res.user;
      const name = u?.profile?.display_name || u?.real_name || u?.profile?.real_name || u?.name || fallbackName || userId;
      this.remember(userId, name);
      return name;
    } catch (err) {
      this.logger.warn({ userId, reason: describeSlackError(err) }, "slack: users.info failed; using the name the request carries");
      return fallbackName || userId;
    }
  }

  private remember(userId: string, name: string): void {
    if (this.cache.size >= CACHE_MAX) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(userId, { name, at: Date.now() });
  }
}
