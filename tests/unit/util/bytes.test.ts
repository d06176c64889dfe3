import { describe, expect, it } from "vitest";
import { formatBytes } from "../../../src/util/bytes.ts";

describe("formatBytes", () => {
  it.each([
    [0, "0 bytes"],
    [1023, "1023 bytes"],
    [1024, "1 KB"],
    [1536, "1.5 KB"],
    [5000, "4.9 KB"],
    [12.3 * 1024 * 1024, "12.3 MB"],
    [5 * 1024 * 1024, "5 MB"],
    [500 * 1024 * 1024, "500 MB"],
    [123.6 * 1024 * 1024, "124 MB"],
    [2 * 1024 ** 3, "2 GB"],
    [3 * 1024 ** 5, "3072 TB"],
  ])("%d bytes is %j", (bytes, text) => {
    expect(formatBytes(bytes)).toBe(text);
  });
});
