/**
 * The Slack-side pieces that need no sockets: Block Kit rendering within Slack's limits, and edit coalescing.
 */
import { describe, expect, it } from "vitest";
import { actionFromId, renderMessage, SLACK_LIMITS } from "../../../bots/slack/blocks.ts";
import { EditCoalescer, SerialQueues } from "../../../bots/slack/pacing.ts";
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
        { kind: "buttons", buttons: [{ action: "pause", label: "Pause", runId: "r1" }, { action: "stop", label: "Stop", style: "danger", runId: "r1" }, { action: "more10", label: "+10 steps", runId: "r1" }] },
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
    expect(r.blocks.some((b: any) => b.type === "context" && /Showing \d+ of 400 lines/.test(b.elements[0].text))).toBe(true);
    const actions = r.blocks.find((b: any) => b.type === "actions") as any;
    expect(actions.elements.map((e: any) => [e.action_id, e.value])).toEqual([["aide_pause", "r1"], ["aide_stop", "r1"], ["aide_more10", "r1"]]);
    expect(actions.elements[1].style).toBe("danger");
    expect((r.blocks.at(-1) as any).text.text).toBe("<@U1> <@U2>");
    expect(actionFromId("aide_more10")).toBe("more10");
    expect(actionFromId("aide_rm_rf")).toBeNull();
  });

  it("renders a link block as a Slack link with its label escaped", () => {
    const url = "https://aide.example.com/runs/r1?token=a-b_c";
    const r = renderMessage({ text: "card", blocks: [{ kind: "link", url, label: "Watch the <tree> | live" }] });
    expect(r.blocks).toEqual([{ type: "context", elements: [{ type: "mrkdwn", text: `<${url}|Watch the &lt;tree&gt; / live>` }] }]);
  });

  it("keeps at most 50 blocks, the last one kept", () => {
    const r = renderMessage({ text: "many", blocks: [...Array.from({ length: 80 }, (_, i) => ({ kind: "context" as const, text: `c${i}` })), { kind: "buttons", buttons: [{ action: "stop", label: "Stop", runId: "r2" }] }] });
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

describe("edit coalescing", () => {
  it("sends at most one edit per interval per message; the latest content wins", async () => {
    const sent: Array<{ key: string; value: number; at: number }> = [];
    const t0 = Date.now();
    const c = new EditCoalescer<number>({
      minIntervalMs: 300,
      send: async (key, value) => {
        sent.push({ key, value, at: Date.now() - t0 });
        await new Promise((r) => setTimeout(r, 20));
      },
    });
    const first = c.submit("a", 1);
    for (let i = 2; i <= 20; i++) void c.submit("a", i);
    void c.submit("b", 100);
    await first;
    await c.flush();
    expect(sent.filter((s) => s.key === "a").map((s) => s.value)).toEqual([1, 20]);
    expect(sent.filter((s) => s.key === "b").map((s) => s.value)).toEqual([100]);
  });

  it("retries a failed deferred edit with the latest content and reports it", async () => {
    let calls = 0;
    const errors: boolean[] = [];
    const c = new EditCoalescer<string>({
      minIntervalMs: 50,
      retryDelayMs: 20,
      send: async () => {
        calls += 1;
        if (calls === 2) throw new Error("boom");
      },
      onError: (_k, _e, gaveUp) => errors.push(gaveUp),
    });
    await c.submit("m", "one");
    await c.submit("m", "two");
    await c.flush();
    await new Promise((r) => setTimeout(r, 300));
    await c.flush();
    expect(calls).toBe(3);
    expect(errors).toEqual([false]);
  });

  it("runs queued posts of one channel in order", async () => {
    const q = new SerialQueues();
    const order: number[] = [];
    await Promise.all([5, 1, 3].map((d, i) => q.run("c", async () => {
      await new Promise((r) => setTimeout(r, d * 10));
      order.push(i);
    })));
    expect(order).toEqual([0, 1, 2]);
  });
});
