/**
 * The bot's REST client settings and what a failed REST call means. client.ts builds the discord.js client with
 * these options; the surface (surface.ts) hands `discordFailure` to the shared delivery. Both import this module,
 * so neither imports the other.
 */
import { DiscordAPIError, HTTPError, RateLimitError, type RESTOptions } from "discord.js";
import type { Failure } from "../../src/runs/chat/delivery.ts";

/**
 * Options of the bot's REST client. @discordjs/rest still queues per bucket from the X-RateLimit headers, but
 * retrying is the surface's Delivery (src/runs/chat/delivery.ts): no retries of 5xx and network errors here, and
 * a rate limit on the channel routes the surface posts, edits and opens threads on is thrown as a RateLimitError,
 * which `discordFailure` turns into `retryAfterMs`. Interaction routes (answered while the interaction lasts, some
 * outside the surface) keep the library's waiting on a rate limit.
 */
export function discordRestOptions(apiUrl?: string): Partial<RESTOptions> {
  return { ...(apiUrl ? { api: apiUrl } : {}), retries: 0, rejectOnRateLimit: ["/channels"] };
}

/** Errors of the network below HTTP (refused, reset, timed out), which are worth another attempt. */
function isNetworkError(err: unknown): boolean {
  const e = err as { name?: string; code?: unknown; cause?: { code?: unknown } } | null;
  if (!e) return false;
  if (e.name === "AbortError" || e.name === "TimeoutError") return true;
  const code = typeof e.code === "string" ? e.code : typeof e.cause?.code === "string" ? e.cause.code : "";
  return /^(?:E[A-Z]+|UND_ERR)/.test(code);
}

/** A failed REST call in the delivery's terms: rate limits with their retry-after, 5xx and the network retryable. */
export function discordFailure(err: unknown): Failure {
  if (err instanceof RateLimitError)
    return {
      retryable: true,
      retryAfterMs: Math.max(0, err.retryAfter),
      reason: `rate limited on ${err.route}${err.global ? " (global)" : ""}`,
    };
  if (err instanceof DiscordAPIError)
    return {
      retryable: err.status >= 500,
      reason: `Discord answered HTTP ${err.status} (${err.code}: ${err.message})`,
    };
  if (err instanceof HTTPError)
    return { retryable: err.status >= 500 || err.status === 408, reason: `Discord answered HTTP ${err.status}` };
  const reason = err instanceof Error ? err.message : String(err);
  return { retryable: isNetworkError(err), reason };
}
