/**
 * The Slack file-token rule (bots/slack/files.ts): the bot token for Slack's file hosts only. That the runner
 * sends what its injected `headersFor` gives is asserted in tests/integration/chat/bridge.test.ts.
 */
import { describe, expect, it } from "vitest";
import { slackFileHeaders } from "../../../bots/slack/files.ts";
import { loadConfig } from "../../../src/config.ts";

describe("Slack file downloads", () => {
  const withToken = slackFileHeaders(
    loadConfig({ env: { SLACK_BOT_TOKEN: "xoxb-test", SLACK_API_URL: "http://127.0.0.1:4567/api/" } }).slack,
  );

  it("sends the bot token to Slack's file host and the configured API host only", () => {
    expect(withToken(new URL("https://files.slack.com/files-pri/T1-F1/data.csv"))).toEqual({
      Authorization: "Bearer xoxb-test",
    });
    expect(withToken(new URL("https://FILES.SLACK.COM/files-pri/T1-F1/data.csv"))).toEqual({
      Authorization: "Bearer xoxb-test",
    });
    expect(withToken(new URL("http://127.0.0.1:4567/files/data.csv"))).toEqual({ Authorization: "Bearer xoxb-test" });
    expect(withToken(new URL("http://127.0.0.1:9999/files/data.csv"))).toBeUndefined();
    expect(withToken(new URL("https://files.slack.com.evil.test/data.csv"))).toBeUndefined();
    expect(withToken(new URL("https://cdn.discordapp.com/attachments/1/2/data.csv"))).toBeUndefined();
  });

  it("sends nothing without a token, and only files.slack.com counts when the API URL is not a URL", () => {
    expect(slackFileHeaders(loadConfig({ env: {} }).slack)(new URL("https://files.slack.com/x.csv"))).toBeUndefined();
    const odd = slackFileHeaders({ botToken: "xoxb-t", apiUrl: "not a url" });
    expect(odd(new URL("https://files.slack.com/x.csv"))).toEqual({ Authorization: "Bearer xoxb-t" });
    expect(odd(new URL("http://not/x.csv"))).toBeUndefined();
  });
});
