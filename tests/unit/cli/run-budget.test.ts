import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { runCommand, type RunFlags } from "../../../cli/commands/run.ts";
import { main } from "../../../cli/main.ts";
import { UsageError } from "../../../src/errors.ts";

const DATA = join(import.meta.dirname, "../../../examples/loan-default/input");
const REFUSAL =
  'A dollar budget needs prices for the models: "llama3.1:8b" has none. Add it under openai.prices in your config, or give a token budget such as --budget 200k.';

afterEach(() => {
  vi.restoreAllMocks();
});

describe("aide run --budget with a model that has no price", () => {
  // A port nothing listens on: were the endpoint ever asked, the error would be a connection failure instead.
  const endpoint = "http://127.0.0.1:9/v1";

  function flags(out: string, over: Partial<RunFlags> = {}): RunFlags {
    return {
      task: "Predict default; metric ROC AUC",
      data: DATA,
      coder: "openai",
      codeModel: "llama3.1:8b",
      reviewModel: "llama3.1:8b",
      baseUrl: endpoint,
      budget: "$1",
      out,
      ...over,
    };
  }

  it("is refused at start with one clear line, before any output, endpoint check or executor", async () => {
    const out = join(mkdtempSync(join(tmpdir(), "aide-budget-")), "run");
    const err = await runCommand(flags(out)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).userMessage).toBe(REFUSAL);
    expect(existsSync(out)).toBe(false);
  });

  it("exits with code 2 and prints the line on stderr", async () => {
    const out = join(mkdtempSync(join(tmpdir(), "aide-budget-")), "run");
    const written: string[] = [];
    vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    const code = await main([
      "node",
      "aide",
      "run",
      "--task",
      "Predict default; metric ROC AUC",
      "--data",
      DATA,
      "--coder",
      "openai",
      "--code-model",
      "llama3.1:8b",
      "--review-model",
      "gpt-4o-mini",
      "--base-url",
      endpoint,
      "--budget",
      "$2.50",
      "--out",
      out,
    ]);
    expect(code).toBe(2);
    expect(written.join("")).toBe(`aide: ${REFUSAL}\n`);
    expect(existsSync(out)).toBe(false);
  });

  it.each([
    ["a token budget with an unpriced model", { budget: "200k" }],
    [
      "a dollar budget over priced models (a dated snapshot, a provider prefix)",
      { codeModel: "o3-pro-2025-06-10", reviewModel: "openai/gpt-4o-mini" },
    ],
  ])(
    "lets %s through: the run goes on and fails later, at the unreachable endpoint",
    async (_what, over: Partial<RunFlags>) => {
      const out = join(mkdtempSync(join(tmpdir(), "aide-budget-")), "run");
      const err = await runCommand(flags(out, { executor: "sandbox", ...over })).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Error);
      expect((err as Error).message).not.toMatch(/dollar budget/);
    },
  );
});
