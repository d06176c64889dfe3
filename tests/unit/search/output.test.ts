import { describe, expect, it } from "vitest";
import { CappedOutput, truncateForPrompt } from "../../../src/search/output.ts";

describe("truncateForPrompt", () => {
  it("keeps short output whole", () => {
    expect(truncateForPrompt("abc")).toBe("abc");
    const exact = "x".repeat(5000);
    expect(truncateForPrompt(exact)).toBe(exact);
  });

  it("keeps the first and last 2,500 characters with a marker", () => {
    const text = "A".repeat(3000) + "B".repeat(4000) + "C".repeat(3000);
    const t = truncateForPrompt(text);
    expect(t.startsWith(`${"A".repeat(2500)}\n[... 5000 characters omitted ...]\n`)).toBe(true);
    expect(t.endsWith("C".repeat(2500))).toBe(true);
    expect(t.length).toBe(5000 + "\n[... 5000 characters omitted ...]\n".length);
  });
});

describe("CappedOutput", () => {
  it("stores everything under the cap", () => {
    const c = new CappedOutput(100);
    c.append("hello ");
    c.append("world");
    expect(c.text).toBe("hello world");
    expect(c.capped).toBe(false);
  });

  it("keeps head and tail over the cap, across many chunks", () => {
    const c = new CappedOutput(20);
    for (let i = 0; i < 100; i++) c.append(`${i},`);
    expect(c.capped).toBe(true);
    expect(c.text.startsWith("0,1,2,3,4,")).toBe(true);
    expect(c.text.endsWith("97,98,99,")).toBe(true);
    expect(c.text).toContain("characters dropped");
  });
});
