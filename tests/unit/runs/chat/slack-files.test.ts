import { describe, expect, it } from "vitest";
import { loadConfig } from "../../../../src/config.ts";
import { slackFileHeaders } from "../../../../runner/worker.ts";

describe("Slack file downloads", () => {
  const withToken = loadConfig({ env: { SLACK_BOT_TOKEN: "xoxb-test", SLACK_API_URL: "http://127.0.0.1:4567/api/" } });

  it("sends the bot token to Slack's file host and the configured API host only", () => {
    expect(slackFileHeaders(new URL("https://files.slack.com/files-pri/T1-F1/data.csv"), withToken)).toEqual({ Authorization: "Bearer xoxb-test" });
    expect(slackFileHeaders(new URL("http://127.0.0.1:4567/files/data.csv"), withToken)).toEqual({ Authorization: "Bearer xoxb-test" });
    expect(slackFileHeaders(new URL("http://127.0.0.1:9999/files/data.csv"), withToken)).toBeUndefined();
    expect(slackFileHeaders(new URL("https://files.slack.com.evil.test/data.csv"), withToken)).toBeUndefined();
    expect(slackFileHeaders(new URL("https://cdn.discordapp.com/attachments/1/2/data.csv"), withToken)).toBeUndefined();
  });

  it("sends nothing without a token", () => {
    expect(slackFileHeaders(new URL("https://files.slack.com/x.csv"), loadConfig({ env: {} }))).toBeUndefined();
  });
});
