/**
 * Each adapter's translation of its platform's errors into the delivery's neutral terms (retryable, retryAfterMs).
 */
import { webApi } from "@slack/bolt";
import { DiscordAPIError, HTTPError, RateLimitError } from "discord.js";
import { describe, expect, it } from "vitest";
import { discordFailure } from "../../../bots/discord/rest.ts";
import { slackFailure } from "../../../bots/slack/client.ts";

describe("slackFailure", () => {
  it("turns a 429's Retry-After into retryAfterMs; 5xx and network errors retryable; ok:false not", () => {
    expect(slackFailure({ code: webApi.ErrorCode.RateLimitedError, retryAfter: 3 })).toMatchObject({
      retryable: true,
      retryAfterMs: 3000,
    });
    expect(slackFailure({ code: webApi.ErrorCode.HTTPError, statusCode: 503 })).toMatchObject({
      retryable: true,
      reason: "Slack answered HTTP 503",
    });
    expect(slackFailure({ code: webApi.ErrorCode.HTTPError, statusCode: 400 })).toMatchObject({ retryable: false });
    expect(slackFailure({ code: webApi.ErrorCode.RequestError, message: "socket hang up" })).toMatchObject({
      retryable: true,
    });
    expect(slackFailure({ code: webApi.ErrorCode.PlatformError, data: { error: "channel_not_found" } })).toMatchObject({
      retryable: false,
      reason: expect.stringContaining("channel_not_found"),
    });
    expect(slackFailure({ code: webApi.ErrorCode.PlatformError, data: { error: "ratelimited" } }).retryable).toBe(true);
    expect(slackFailure(new Error("chat.postMessage answered without a ts")).retryable).toBe(false);
  });
});

describe("discordFailure", () => {
  it("turns a RateLimitError's retryAfter into retryAfterMs; 5xx and the network retryable; 4xx not", () => {
    const limited = new RateLimitError({
      timeToReset: 700,
      limit: 5,
      method: "POST",
      hash: "h",
      url: "u",
      route: "/channels/:id/messages",
      majorParameter: "1",
      global: false,
      retryAfter: 700,
      sublimitTimeout: 0,
      scope: "user",
    });
    expect(discordFailure(limited)).toMatchObject({ retryable: true, retryAfterMs: 700 });
    const refused = new DiscordAPIError({ code: 50013, message: "Missing Permissions" }, 50013, 403, "POST", "u", {
      body: undefined,
      files: undefined,
    });
    expect(discordFailure(refused)).toMatchObject({ retryable: false, reason: expect.stringContaining("50013") });
    expect(
      discordFailure(new HTTPError(502, "Bad Gateway", "POST", "u", { body: undefined, files: undefined })).retryable,
    ).toBe(true);
    expect(
      discordFailure(Object.assign(new TypeError("fetch failed"), { cause: { code: "ECONNRESET" } })).retryable,
    ).toBe(true);
    expect(discordFailure(Object.assign(new Error("timed out"), { name: "AbortError" })).retryable).toBe(true);
    expect(discordFailure(new TypeError("x is not a function")).retryable).toBe(false);
  });
});
