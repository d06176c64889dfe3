import { describe, expect, it } from "vitest";
import { hasControlCharacter, replaceControlCharacters, truncate } from "../../../src/util/text.ts";

describe("truncate", () => {
  it("keeps text that fits", () => {
    expect(truncate("abc", 3)).toBe("abc");
    expect(truncate("", 0)).toBe("");
  });

  it("cuts to the length asked, the marker included", () => {
    expect(truncate("abcdef", 4)).toBe("abc…");
    expect(truncate("a".repeat(300), 200, "...")).toBe(`${"a".repeat(197)}...`);
    // A marker longer than the room left is cut too: the result never exceeds the length asked.
    expect(truncate("abcdef", 5, " [cut]")).toBe(" [cut");
  });

  it("drops the whitespace before the marker", () => {
    expect(truncate("one two three", 5)).toBe("one…");
  });

  it("never splits a surrogate pair", () => {
    const cut = truncate("ab😀cd", 4);
    expect(cut).toBe("ab…");
    expect(cut.length).toBeLessThanOrEqual(4);
    expect(truncate("😀😀😀", 3)).toBe("😀…");
  });
});

describe("control characters", () => {
  it("are found anywhere, C0 and DEL alike, and nothing else is", () => {
    expect(hasControlCharacter("train\u0000.csv")).toBe(true);
    expect(hasControlCharacter("a\nb")).toBe(true);
    expect(hasControlCharacter("x\u007f")).toBe(true);
    expect(hasControlCharacter("données é 🙂.csv")).toBe(false);
    // the same answer twice: no state kept between calls
    expect(hasControlCharacter("\u001b[31m")).toBe(true);
    expect(hasControlCharacter("\u001b[31m")).toBe(true);
  });

  it("are each replaced", () => {
    expect(replaceControlCharacters("a\u0000b\tc\u007f", "?")).toBe("a?b?c?");
    expect(replaceControlCharacters("plain", "_")).toBe("plain");
  });
});
