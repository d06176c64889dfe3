/**
 * How the bot talks to Slack's Web API: the options of the @slack/web-api client that Bolt creates
 * (`clientOptions`), a bridge from our pino logger to the logger interface Slack's packages expect, and what a
 * failed call means (`slackFailure`) for the shared delivery (src/runs/chat/delivery.ts).
 *
 * Retries are not the client's: the bot's client makes one attempt per call (`retries: 0`) and hands a 429 back
 * at once (`rejectRateLimitedCalls`), and the surface's Delivery retries, honouring Retry-After:
 * - HTTP 429: the client's rate-limited error carries Retry-After; `slackFailure` turns it into `retryAfterMs`.
 * - HTTP 5xx and network errors (timeouts included): retried with exponential backoff.
 * - `ok:false` answers (channel_not_found, invalid_blocks...) are not retried: they would fail again.
 */
import { LogLevel, webApi } from "@slack/bolt";
import type { Logger as SlackLogger } from "@slack/bolt";
import { AideError } from "../../src/errors.ts";
import type { Logger } from "../../src/logger.ts";
import type { Failure } from "../../src/runs/chat/delivery.ts";

/** The bot's client makes one attempt per call: retrying is the delivery's (src/runs/chat/delivery.ts). */
const NO_RETRIES = { retries: 0 } as const satisfies webApi.RetryOptions;

/** Per-request timeout of Web API calls (a hung connection is retried like a network error). */
export const SLACK_REQUEST_TIMEOUT_MS = 30_000;

/** Options of a Web API client; without `retryConfig` (the bot's client) it makes one attempt and rejects a 429 at once. */
export function slackClientOptions(opts: {
  apiUrl?: string;
  logger: Logger;
  retryConfig?: webApi.RetryOptions;
  timeoutMs?: number;
}): webApi.WebClientOptions {
  const apiUrl = opts.apiUrl ? (opts.apiUrl.endsWith("/") ? opts.apiUrl : `${opts.apiUrl}/`) : undefined;
  return {
    ...(apiUrl ? { slackApiUrl: apiUrl } : {}),
    retryConfig: opts.retryConfig ?? NO_RETRIES,
    rejectRateLimitedCalls: opts.retryConfig === undefined,
    timeout: opts.timeoutMs ?? SLACK_REQUEST_TIMEOUT_MS,
    logger: slackLogger(opts.logger, "slack-web-api"),
  };
}

const ORDER: Record<LogLevel, number> = {
  [LogLevel.DEBUG]: 0,
  [LogLevel.INFO]: 1,
  [LogLevel.WARN]: 2,
  [LogLevel.ERROR]: 3,
};

/** A @slack/logger Logger writing to pino. Slack's debug output (request bodies) stays at pino's debug level. */
export function slackLogger(logger: Logger, name: string): SlackLogger {
  let level: LogLevel = LogLevel.INFO;
  let log = logger.child({ component: name });
  const text = (msg: unknown[]) =>
    msg.map((m) => (typeof m === "string" ? m : m instanceof Error ? m.message : JSON.stringify(m))).join(" ");
  const at = (l: LogLevel) => ORDER[l] >= ORDER[level];
  return {
    debug: (...msg: unknown[]) => void (at(LogLevel.DEBUG) && log.debug(text(msg))),
    info: (...msg: unknown[]) => void (at(LogLevel.INFO) && log.info(text(msg))),
    warn: (...msg: unknown[]) => void (at(LogLevel.WARN) && log.warn(text(msg))),
    error: (...msg: unknown[]) => void (at(LogLevel.ERROR) && log.error(text(msg))),
    setLevel: (l: LogLevel) => {
      level = l;
    },
    getLevel: () => level,
    setName: (n: string) => {
      log = logger.child({ component: n });
    },
  };
}

/** A short description of a Web API failure for logs (never the token or the request body). */
export function describeSlackError(err: unknown): string {
  const e = err as {
    code?: string;
    data?: { error?: string };
    statusCode?: number;
    retryAfter?: number;
    message?: string;
  };
  if (e?.code === webApi.ErrorCode.PlatformError)
    return `Slack answered ok:false (${e.data?.error ?? "unknown error"})`;
  if (e?.code === webApi.ErrorCode.HTTPError) return `Slack answered HTTP ${e.statusCode}`;
  if (e?.code === webApi.ErrorCode.RateLimitedError) return `rate limited (retry after ${e.retryAfter} s)`;
  if (e?.code === webApi.ErrorCode.RequestError) return `request failed: ${e.message ?? "network error"}`;
  return e?.message ?? String(err);
}

/** A failed Web API call in the delivery's terms: a 429's Retry-After, 5xx and network errors retryable, ok:false not. */
export function slackFailure(err: unknown): Failure {
  const e = err as { code?: string; statusCode?: number; retryAfter?: number; data?: { error?: string } };
  const reason = describeSlackError(err);
  switch (e?.code) {
    case webApi.ErrorCode.RateLimitedError:
      return { retryable: true, retryAfterMs: Math.max(0, (e.retryAfter ?? 1) * 1000), reason };
    case webApi.ErrorCode.HTTPError:
      return { retryable: (e.statusCode ?? 0) >= 500 || e.statusCode === 408, reason };
    case webApi.ErrorCode.RequestError:
      return { retryable: true, reason };
    case webApi.ErrorCode.PlatformError:
      return {
        retryable:
          e.data?.error === "ratelimited" ||
          e.data?.error === "internal_error" ||
          e.data?.error === "service_unavailable",
        reason,
      };
    default:
      // A 429 without a usable Retry-After, or anything else the client throws: not worth repeating blindly.
      return { retryable: false, reason };
  }
}

/** Retries of the start-up token check: a few quick ones, so a wrong URL or token is one clear line at once. */
const STARTUP_RETRY_POLICY = {
  retries: 2,
  factor: 2,
  minTimeout: 300,
  maxTimeout: 1_000,
} as const satisfies webApi.RetryOptions;

/**
 * Checks the bot token with `auth.test` before the bot starts. Throws an AideError with one user-facing line
 * when Slack cannot be reached or refuses the token (never including the token).
 */
export async function verifySlackToken(
  botToken: string,
  opts: { apiUrl?: string; logger: Logger },
): Promise<{ botUserId?: string; team?: string }> {
  const client = new webApi.WebClient(botToken, {
    ...slackClientOptions({ ...opts, retryConfig: STARTUP_RETRY_POLICY, timeoutMs: 10_000 }),
  });
  const where = opts.apiUrl || "https://slack.com/api/";
  try {
    const r = await client.auth.test();
    return { botUserId: r.user_id, team: r.team };
  } catch (err) {
    const e = err as { code?: string; data?: { error?: string } };
    if (e.code === "slack_webapi_platform_error") {
      throw new AideError(
        "slack",
        `Slack refused SLACK_BOT_TOKEN (${e.data?.error ?? "error"}); use the app's Bot User OAuth Token (xoxb-...).`,
      );
    }
    throw new AideError("slack", `Cannot reach Slack's Web API at ${where}: ${describeSlackError(err)}.`);
  }
}
