/**
 * Platform markup ends in the adapters: Slack's and Discord's message text becomes the plain text the neutral
 * chat parser reads (bots/slack/translate.ts, bots/discord/translate.ts), and what the parser then makes of it.
 */
import { describe, expect, it } from "vitest";
import { discordReplyText, discordText } from "../../../bots/discord/translate.ts";
import {
  commandRequest,
  mentionRequest,
  replyRequest,
  replyText,
  slackText,
  type SlackMessageEvent,
} from "../../../bots/slack/translate.ts";
import { parseCommand, parseReply } from "../../../src/runs/chat/commands.ts";
import type { ChatUser } from "../../../src/runs/chat/types.ts";

const ada: ChatUser = { userId: "UADA", displayName: "Ada", isAdmin: false };

describe("Slack text", () => {
  it("unwraps links, names mentions and channels, and unescapes &amp; &lt; &gt; last", () => {
    expect(slackText("see <https://files.test/data.zip|data.zip> and <https://files.test/x?a=1&amp;b=2>")).toBe(
      "see https://files.test/data.zip and https://files.test/x?a=1&b=2",
    );
    expect(
      slackText(
        "ask <@U9|ada> or <@U7> in <#C1|general> / <#C2>, <!here> <!subteam^S1|@ml-team> <!date^1392734382^{date}|Feb 18>",
      ),
    ).toBe("ask @ada or @U7 in #general / #C2, @here @ml-team Feb 18");
    expect(slackText("mail <mailto:a@b.test|a@b.test>")).toBe("mail a@b.test");
    expect(slackText("a &lt; b &amp;&amp; c &gt; d; &amp;lt; stays")).toBe("a < b && c > d; &lt; stays");
    // An escaped "<" never turns into markup.
    expect(slackText("&lt;https://x.test|y&gt;")).toBe("<https://x.test|y>");
  });

  it("turns a slash command, a mention and a reply into plain ChatRequest text", () => {
    const cmd = commandRequest(
      { text: "start Predict churn <https://files.test/d.zip|d.zip> --steps 3", channel_id: "C1", user_id: "UADA" },
      ada,
    );
    expect(cmd).toMatchObject({ kind: "command", text: "start Predict churn https://files.test/d.zip --steps 3" });
    expect(parseCommand((cmd as { text: string }).text)).toEqual({
      kind: "start",
      task: "Predict churn",
      links: ["https://files.test/d.zip"],
      steps: 3,
    });

    const event: SlackMessageEvent = {
      type: "app_mention",
      channel: "C1",
      user: "UADA",
      ts: "1.1",
      text: "<@UBOT> predict churn <https://files.test/d.csv>",
    };
    expect(mentionRequest(event, "UBOT", ada)).toMatchObject({
      kind: "command",
      text: "start predict churn https://files.test/d.csv",
    });

    const reply = replyRequest(
      { type: "message", channel: "C1", user: "UADA", ts: "1.3", thread_ts: "1.2", text: "<@UBOT> <@U9|bob> Stop." },
      "UBOT",
      ada,
    );
    expect(reply).toMatchObject({ kind: "reply", text: "Stop." });
    expect(parseReply((reply as { text: string }).text)).toEqual({ kind: "steer", command: { kind: "stop" } });
  });

  it("drops the mentions a reply starts with, keeps later ones readable", () => {
    expect(replyText("<@U0BOT> use a random forest", undefined)).toBe("use a random forest");
    expect(replyText("<@U1><@U2|bob>  more 5", "UBOT")).toBe("more 5");
    expect(replyText("try what <@U9|ada> said &amp; log it", "UBOT")).toBe("try what @ada said & log it");
  });
});

describe("Discord text", () => {
  it("unwraps links whose preview was suppressed, and drops the mentions a reply starts with", () => {
    expect(discordText("start t <https://x.test/a.csv> https://x.test/b.csv")).toBe(
      "start t https://x.test/a.csv https://x.test/b.csv",
    );
    expect(parseCommand(discordText("start t <https://x.test/a.csv>"))).toEqual({
      kind: "start",
      task: "t",
      links: ["https://x.test/a.csv"],
    });
    expect(discordReplyText("<@!42> <@&77> pause")).toBe("pause");
    expect(discordReplyText("ask <@42> about it")).toBe("ask <@42> about it");
  });
});
