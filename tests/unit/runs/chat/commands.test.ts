import { describe, expect, it } from "vitest";
import { extractLinks, parseCommand, parseReply } from "../../../../src/runs/chat/commands.ts";

describe("parseCommand", () => {
  it("treats empty text and help as help", () => {
    expect(parseCommand("")).toEqual({ kind: "help" });
    expect(parseCommand("   ")).toEqual({ kind: "help" });
    expect(parseCommand("help")).toEqual({ kind: "help" });
    expect(parseCommand("/aide help")).toEqual({ kind: "help" });
  });

  it("parses start with links anywhere and every flag", () => {
    const c = parseCommand(
      "start Predict house prices https://x.test/a.zip using RMSE --steps 12 --metric rmse --timeout 5m --parallel 2 https://x.test/b.csv",
    );
    expect(c).toEqual({
      kind: "start",
      task: "Predict house prices using RMSE",
      links: ["https://x.test/a.zip", "https://x.test/b.csv"],
      steps: 12,
      metric: "rmse",
      timeoutSec: 300,
      parallel: 2,
    });
  });

  it("parses the holdout share and --no-holdout", () => {
    expect(parseCommand("start Predict churn https://x.test/a.csv --holdout 0.2")).toMatchObject({ holdout: 0.2 });
    expect(parseCommand("start Predict churn https://x.test/a.csv --holdout=off")).toMatchObject({ holdout: null });
    expect(parseCommand("start Predict churn https://x.test/a.csv --no-holdout")).toMatchObject({
      task: "Predict churn",
      holdout: null,
    });
    expect(parseCommand("start t https://x.test/a.csv --holdout 2")).toMatchObject({
      kind: "invalid",
      problem: expect.stringMatching(/--holdout takes a share/),
    });
    expect(parseCommand("start Predict churn https://x.test/a.csv")).not.toHaveProperty("holdout");
  });

  it("reads plain text: platform markup is the adapters' (bots/*/translate.ts), a & in a link is kept as typed", () => {
    const c = parseCommand(
      "start Predict churn https://files.test/data.zip and https://files.test/x?a=1&b=2 --steps=3",
    );
    expect(c).toMatchObject({
      kind: "start",
      task: "Predict churn and",
      links: ["https://files.test/data.zip", "https://files.test/x?a=1&b=2"],
      steps: 3,
    });
    expect(parseCommand("start t https://files.test/x?a=1&amp;b=2")).toMatchObject({
      links: ["https://files.test/x?a=1&amp;b=2"],
    });
  });

  it("drops sentence punctuation after a bare link and dedupes links", () => {
    const { text, links } = extractLinks("see https://a.test/d.csv. And (https://a.test/d.csv)");
    expect(links).toEqual(["https://a.test/d.csv"]);
    expect(text).not.toContain("https://");
  });

  it("accepts Slack's em-dash flags", () => {
    expect(parseCommand("start t https://a.test/d.csv \u2014steps 4")).toMatchObject({ steps: 4 });
  });

  it("returns a start without links or task for the controller to refuse", () => {
    expect(parseCommand("start just a task")).toEqual({ kind: "start", task: "just a task", links: [] });
    expect(parseCommand("start https://a.test/d.csv")).toEqual({
      kind: "start",
      task: "",
      links: ["https://a.test/d.csv"],
    });
  });

  it.each([
    ["start t https://a.test/d.csv --steps", /--steps needs a value/],
    ["start t https://a.test/d.csv --steps ten", /--steps takes a whole number/],
    ["start t https://a.test/d.csv --steps 0", /--steps takes a whole number from 1/],
    ["start t https://a.test/d.csv --steps 99999", /^--steps takes a whole number from 1 to 10,000, got "99999"\.$/],
    ["start t https://a.test/d.csv --parallel 2.5", /--parallel/],
    ["start t https://a.test/d.csv --timeout soon", /--timeout takes a duration/],
    ["start t https://a.test/d.csv --timeout 1s", /--timeout/],
    ["start t https://a.test/d.csv --metric 'r m s e'", /--metric/],
    ["start t https://a.test/d.csv --fast", /Unknown option --fast/],
    ["frobnicate", /Unknown command "frobnicate"/],
    ["stop", /"stop" takes the run id/],
    ["stop a b", /"stop" takes the run id/],
    ["status a b", /"status" takes one run id/],
    ["list please", /"list" takes no arguments/],
  ])("refuses %j", (text, problem) => {
    const c = parseCommand(text);
    expect(c.kind).toBe("invalid");
    expect(c.kind === "invalid" && c.problem).toMatch(problem);
  });

  it("parses status, list and stop", () => {
    expect(parseCommand("status")).toEqual({ kind: "status" });
    expect(parseCommand("status r1a2b3c4d")).toEqual({ kind: "status", runId: "r1a2b3c4d" });
    expect(parseCommand("LIST")).toEqual({ kind: "list" });
    expect(parseCommand("stop r1a2b3c4d")).toEqual({ kind: "stop", runId: "r1a2b3c4d" });
  });
});

describe("parseReply", () => {
  it("reads the chat commands", () => {
    expect(parseReply("status")).toEqual({ kind: "status" });
    expect(parseReply("Best")).toEqual({ kind: "best" });
    expect(parseReply("tree")).toEqual({ kind: "tree" });
    expect(parseReply("chart")).toEqual({ kind: "chart" });
    expect(parseReply("Plot.")).toEqual({ kind: "chart" });
    expect(parseReply("follow")).toEqual({ kind: "follow" });
    expect(parseReply("unfollow")).toEqual({ kind: "unfollow" });
    expect(parseReply("help")).toEqual({ kind: "help" });
    expect(parseReply("verbose on")).toEqual({ kind: "verbose", on: true });
    expect(parseReply("verbose off")).toEqual({ kind: "verbose", on: false });
    expect(parseReply("verbose maybe")).toMatchObject({ kind: "invalid", problem: expect.stringMatching(/on or off/) });
  });

  it("reads steering commands through parseSteer", () => {
    expect(parseReply("stop")).toEqual({ kind: "steer", command: { kind: "stop" } });
    expect(parseReply("Pause.")).toEqual({ kind: "steer", command: { kind: "pause" } });
    expect(parseReply("resume")).toEqual({ kind: "steer", command: { kind: "resume" } });
    expect(parseReply("more 5")).toEqual({ kind: "steer", command: { kind: "more", steps: 5 } });
    expect(parseReply("focus #3")).toEqual({ kind: "steer", command: { kind: "focus", node: 3 } });
    expect(parseReply("debug 2")).toEqual({ kind: "steer", command: { kind: "debug", node: 2 } });
    expect(parseReply("more lots")).toMatchObject({ kind: "invalid" });
    expect(parseReply("focus x")).toMatchObject({ kind: "invalid" });
  });

  it("treats anything else as guidance, with the author, kept as written (mentions are the adapters' to remove)", () => {
    expect(parseReply("use a random forest", "Ada")).toEqual({
      kind: "steer",
      command: { kind: "guidance", text: "use a random forest", author: "Ada" },
    });
    expect(parseReply("<@U0BOT> stop", "Ada")).toEqual({
      kind: "steer",
      command: { kind: "guidance", text: "<@U0BOT> stop", author: "Ada" },
    });
    expect(parseReply("try gradient boosting")).toEqual({
      kind: "steer",
      command: { kind: "guidance", text: "try gradient boosting" },
    });
  });
});
