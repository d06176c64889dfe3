import { describe, expect, it } from "vitest";
import { isPrivilegedSteer, parseSteer } from "../../../src/runs/steer-parse.ts";

describe("parseSteer", () => {
  it.each([
    ["pause", { kind: "pause" }],
    [" Resume ", { kind: "resume" }],
    ["STOP", { kind: "stop" }],
    ["more 10", { kind: "more", steps: 10 }],
    ["+5", { kind: "more", steps: 5 }],
    ["more 3 steps", { kind: "more", steps: 3 }],
    ["focus 7", { kind: "focus", node: 7 }],
    ["focus on node #12", { kind: "focus", node: 12 }],
    ["debug #3", { kind: "debug", node: 3 }],
    [
      "try gradient boosting with target encoding",
      { kind: "guidance", text: "try gradient boosting with target encoding" },
    ],
  ])("%s", (text, command) => {
    expect(parseSteer(text)).toEqual({ command });
  });

  it("keeps the author of guidance", () => {
    expect(parseSteer("use fewer features", "U1")).toEqual({
      command: { kind: "guidance", text: "use fewer features", author: "U1" },
    });
  });

  it.each(["more", "more ten", "more 0", "more 100000", "focus", "focus x", "debug -1", "   "])(
    "refuses %j with a message",
    (text) => {
      const r = parseSteer(text);
      expect("error" in r && r.error.length > 0).toBe(true);
    },
  );

  it("marks stop, pause, resume and budget changes as privileged; guidance, focus and debug are anyone's", () => {
    expect(isPrivilegedSteer({ kind: "stop" })).toBe(true);
    expect(isPrivilegedSteer({ kind: "more", steps: 2 })).toBe(true);
    expect(isPrivilegedSteer({ kind: "pause" })).toBe(true);
    expect(isPrivilegedSteer({ kind: "resume" })).toBe(true);
    expect(isPrivilegedSteer({ kind: "guidance", text: "x" })).toBe(false);
    expect(isPrivilegedSteer({ kind: "focus", node: 2 })).toBe(false);
    expect(isPrivilegedSteer({ kind: "debug", node: 2 })).toBe(false);
  });
});
