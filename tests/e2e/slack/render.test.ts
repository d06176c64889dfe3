/**
 * The Slack-side pieces that need no sockets: Block Kit rendering within Slack's limits and inbound text.
 * (Edit coalescing, ordering and retries are the shared delivery's: tests/unit/runs/chat/delivery.test.ts, and
 * tests/e2e/slack/surface.test.ts for the Slack surface on it.)
 */
import { describe, expect, it } from "vitest";
import { actionFromId, renderMessage, SLACK_LIMITS } from "../../../bots/slack/blocks.ts";
import { mentionCommandText, withoutMention } from "../../../bots/slack/translate.ts";

describe("Block Kit rendering", () => {
  it("renders header, fields, code, buttons and mentions within Slack's limits", () => {
    const code = Array.from({ length: 400 }, (_, i) => `x_${i} = compute(${i}) & 1 < 2  # line ${i}`).join("\n");
    const r = renderMessage({
      text: "New best: **node 3** <script>",
      blocks: [
        { kind: "header", text: "H".repeat(400) },
        { kind: "fields", fields: Array.from({ length: 12 }, (_, i) => ({ label: `f${i}`, value: "v".repeat(3000) })) },
        { kind: "text", text: "t".repeat(7000) },
        { kind: "code", language: "python", code, totalLines: 400 },
        {
          kind: "buttons",
          buttons: [
            { action: "pause", label: "Pause", runId: "r1" },
            { action: "stop", label: "Stop", style: "danger", runId: "r1" },
            { action: "more10", label: "+10 steps", runId: "r1" },
          ],
        },
      ],
      mentions: ["U1", "U1", "U2"],
    });
    expect(r.text.startsWith("<@U1> <@U2> New best: *node 3* &lt;script&gt;")).toBe(true);
    const header = r.blocks[0] as any;
    expect(header.text.text.length).toBeLessThanOrEqual(SLACK_LIMITS.headerText);
    const sections = r.blocks.filter((b: any) => b.type === "section") as any[];
    for (const s of sections) {
      if (s.text) expect(s.text.text.length).toBeLessThanOrEqual(SLACK_LIMITS.sectionText);
      if (s.fields) {
        expect(s.fields.length).toBeLessThanOrEqual(10);
        for (const f of s.fields) expect(f.text.length).toBeLessThanOrEqual(2000);
      }
    }
    const codeBlock = sections.find((s) => s.text?.text.startsWith("```"));
    expect(codeBlock.text.text).toContain("&amp; 1 &lt; 2");
    expect(codeBlock.text.text.endsWith("\n```")).toBe(true);
    expect(r.blocks.some((b: any) => b.type === "context" && /Showing \d+ of 400 lines/.test(b.elements[0].text))).toBe(
      true,
    );
    const actions = r.blocks.find((b: any) => b.type === "actions") as any;
    expect(actions.elements.map((e: any) => [e.action_id, e.value])).toEqual([
      ["aide_pause", "r1"],
      ["aide_stop", "r1"],
      ["aide_more10", "r1"],
    ]);
    expect(actions.elements[1].style).toBe("danger");
    expect((r.blocks.at(-1) as any).text.text).toBe("<@U1> <@U2>");
    expect(actionFromId("aide_more10")).toBe("more10");
    expect(actionFromId("aide_rm_rf")).toBeNull();
  });

  it("renders a link block as a Slack link with its label escaped", () => {
    const url = "https://aide.example.com/runs/r1?token=a-b_c";
    const r = renderMessage({ text: "card", blocks: [{ kind: "link", url, label: "Watch the <tree> | live" }] });
    expect(r.blocks).toEqual([
      { type: "context", elements: [{ type: "mrkdwn", text: `<${url}|Watch the &lt;tree&gt; / live>` }] },
    ]);
  });

  it("keeps at most 50 blocks, the last one kept", () => {
    const r = renderMessage({
      text: "many",
      blocks: [
        ...Array.from({ length: 80 }, (_, i) => ({ kind: "context" as const, text: `c${i}` })),
        { kind: "buttons", buttons: [{ action: "stop", label: "Stop", runId: "r2" }] },
      ],
    });
    expect(r.blocks.length).toBe(50);
    expect((r.blocks.at(-1) as any).type).toBe("actions");
  });
});

describe("inbound text", () => {
  it("reads a mention with data as a start, and leaves subcommands alone", () => {
    expect(withoutMention("<@UBOT> predict churn", "UBOT")).toBe("predict churn");
    expect(mentionCommandText("predict churn", true)).toBe("start predict churn");
    expect(mentionCommandText("status", true)).toBe("status");
    expect(mentionCommandText("predict churn", false)).toBe("predict churn");
  });
});
