import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifySlackToken } from "../../../bots/slack/client.ts";
import { silentLogger } from "../../../src/logger.ts";
import { startFakeSlackApi, type FakeSlackApi } from "../../fakes/slack-api.ts";

describe("Slack start-up token check", () => {
  let slack: FakeSlackApi;
  beforeAll(async () => {
    slack = await startFakeSlackApi();
  });
  afterAll(async () => slack.close());

  it("accepts the bot token Slack knows", async () => {
    const r = await verifySlackToken(slack.botToken, { apiUrl: slack.apiUrl, logger: silentLogger });
    expect(r.botUserId).toBe(slack.botUserId);
  });

  it("says in one line that Slack refused the token, without the token", async () => {
    slack.fail({ methods: ["auth.test"], times: 1, kind: "error", error: "invalid_auth" });
    const err = await verifySlackToken("xoxb-secret-token", { apiUrl: slack.apiUrl, logger: silentLogger }).catch(
      (e: unknown) => e,
    );
    expect((err as Error).message).toMatch(/^Slack refused SLACK_BOT_TOKEN \(invalid_auth\)/);
    expect((err as Error).message).not.toContain("xoxb-secret-token");
  });

  it("says in one line that the Web API cannot be reached", async () => {
    const err = await verifySlackToken(slack.botToken, {
      apiUrl: "http://127.0.0.1:9/api/",
      logger: silentLogger,
    }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/^Cannot reach Slack's Web API at http:\/\/127\.0\.0\.1:9\/api\//);
  });
});
