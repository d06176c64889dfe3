import { mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { exists } from "../../../src/util/files.ts";

describe("exists", () => {
  const dir = mkdtempSync(join(tmpdir(), "aide-exists-"));
  writeFileSync(join(dir, "file.txt"), "x");
  symlinkSync(join(dir, "file.txt"), join(dir, "link"));
  symlinkSync(join(dir, "gone"), join(dir, "dangling"));

  it("tells files and directories from nothing", async () => {
    expect(await exists(join(dir, "file.txt"))).toBe(true);
    expect(await exists(dir)).toBe(true);
    expect(await exists(join(dir, "missing"))).toBe(false);
    expect(await exists(join(dir, "file.txt", "below"))).toBe(false);
  });

  it("follows links unless told not to: a dangling link is nothing, or itself", async () => {
    expect(await exists(join(dir, "link"))).toBe(true);
    expect(await exists(join(dir, "dangling"))).toBe(false);
    expect(await exists(join(dir, "dangling"), { followLinks: false })).toBe(true);
    expect(await exists(join(dir, "missing"), { followLinks: false })).toBe(false);
  });
});
