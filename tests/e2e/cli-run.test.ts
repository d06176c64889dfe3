import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { rankBySelection } from "../../src/search/selection.ts";
import type { SolutionNode } from "../../src/search/types.ts";

const run = promisify(execFile);
const BIN = join(import.meta.dirname, "../../bin/aide.mjs");
const EXAMPLE = join(import.meta.dirname, "../../examples/loan-default");

async function aide(args: string[], env: Record<string, string> = {}) {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], {
      env: { ...process.env, ...env },
      timeout: 300_000,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe("aide run (offline coder, bubblewrap sandbox)", () => {
  it("searches the bundled example and writes the outputs", async () => {
    const out = mkdtempSync(join(tmpdir(), "aide-cli-"));
    const r = await aide([
      "run",
      "--task",
      join(EXAMPLE, "task.md"),
      "--data",
      join(EXAMPLE, "input"),
      "--steps",
      "7",
      "--coder",
      "offline",
      "--out",
      out,
      "--seed",
      "1",
    ]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("coder: offline (no model)");
    expect(r.stdout).toMatch(/step 7\/7/);
    expect(r.stdout).toContain("Finished (steps): 7 nodes");

    const journal = JSON.parse(readFileSync(join(out, "journal.json"), "utf8"));
    expect(journal.nodes).toHaveLength(7);
    for (const key of [
      "id",
      "parentId",
      "step",
      "stage",
      "plan",
      "code",
      "metric",
      "direction",
      "buggy",
      "analysis",
      "execTimeMs",
      "output",
      "usage",
    ]) {
      expect(journal.nodes[0]).toHaveProperty(key);
    }
    expect(journal.nodes.slice(0, 5).map((n: { stage: string }) => n.stage)).toEqual([
      "draft",
      "draft",
      "draft",
      "draft",
      "draft",
    ]);
    expect(journal.lowerIsBetter).toBe(false);
    expect(journal.coder).toBe("offline (no model)");

    const best = journal.nodes.find((n: { id: number }) => n.id === journal.bestNodeId);
    expect(best.buggy).toBe(false);
    expect(best.metric.name).toMatch(/auc/i);
    // Every script was judged on the same hidden rows; the best is the best on them.
    expect(r.stdout).toContain("holding out 210 of 1400 labelled rows to judge every script the same way");
    expect(journal.holdout).toMatch(/^holding out 210 of 1400 labelled rows/);
    expect(best.holdout).toMatchObject({ lowerIsBetter: false });
    // The best is the first by the selection score (holdout and validation, each weighed by its precision),
    // read back from journal.json: every judged node carries its bootstrap standard error.
    for (const n of journal.nodes.filter((x: SolutionNode) => x.holdout))
      expect(n.holdout.stdError).toBeGreaterThanOrEqual(0);
    expect(rankBySelection(journal.nodes)[0]!.id).toBe(best.id);
    expect(r.stdout).toMatch(/holdout \d\.\d+ · validation \d\.\d+/);
    // The delivered files are the best node's, not the last node's: its script, and its refit on all the rows.
    expect(readFileSync(join(out, "best_solution.py"), "utf8").trim()).toBe(best.code.trim());
    expect(journal.delivered).toBe(`node ${best.id} refit on all 1400 labelled rows`);
    expect(r.stdout).toContain(`Delivered: node ${best.id} refit on all 1400 labelled rows.`);
    const refitted = join(out, "nodes", `refit-${String(best.id).padStart(4, "0")}`, "working", "submission.csv");
    expect(readFileSync(join(out, "best_submission.csv"), "utf8")).toBe(readFileSync(refitted, "utf8"));
    expect(readFileSync(refitted, "utf8")).not.toBe(readFileSync(join(out, best.submissionPath), "utf8"));
    const config = JSON.parse(readFileSync(join(out, "config.json"), "utf8"));
    expect(config.search.steps).toBe(7);
    expect(existsSync(join(out, "nodes/0000/output.log"))).toBe(true);
  });

  it("takes the task as literal text too", async () => {
    const out = mkdtempSync(join(tmpdir(), "aide-cli-"));
    const r = await aide([
      "run",
      "--task",
      "Predict default (probability); metric ROC AUC",
      "--data",
      join(EXAMPLE, "input"),
      "--steps",
      "1",
      "--out",
      out,
    ]);
    expect(r.code).toBe(0);
    expect(JSON.parse(readFileSync(join(out, "journal.json"), "utf8")).task).toBe(
      "Predict default (probability); metric ROC AUC",
    );
  });

  it.each([
    [["run", "--data", "x"], /required option '--task/],
    [["run", "--task", "t", "--data", "/nonexistent/dir"], /^aide: Data directory not found: \/nonexistent\/dir\n$/],
    [
      ["run", "--task", "t", "--data", EXAMPLE, "--steps", "zero"],
      /^aide: --steps takes a whole number from 1 to 10,000, got "zero"\.\n$/,
    ],
    [["run", "--task", "missing-task.md", "--data", EXAMPLE], /^aide: Task file not found: missing-task.md\n$/],
    [["run", "--task", "t", "--data", EXAMPLE, "--bogus"], /unknown option '--bogus'/],
    [["run", "--task", "t", "--data", EXAMPLE, "--executor", "local"], /--unsafe-no-sandbox/],
    [
      ["run", "--task", "t", "--data", EXAMPLE, "--budget", "lots"],
      /^aide: --budget takes tokens from 1,000 to 1,000,000,000 \(200k, 1\.5M\) or dollars from \$0\.01 to \$10,000 \(\$2\.50\), got "lots"\.\n$/,
    ],
  ])("refuses bad input with one clear line: %j", async (args, message) => {
    const r = await aide(args as string[]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split("\n").length).toBeLessThanOrEqual(2);
    expect(r.stdout).toBe("");
  });

  it("fails with one line when the model endpoint is unreachable, without leaking the key", async () => {
    const r = await aide(
      [
        "run",
        "--task",
        "t",
        "--data",
        join(EXAMPLE, "input"),
        "--coder",
        "openai",
        "--base-url",
        "http://127.0.0.1:9/v1",
      ],
      {
        OPENAI_API_KEY: "sk-secret-should-not-appear",
      },
    );
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/^aide: .*127\.0\.0\.1:9/);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr + r.stdout).not.toContain("sk-secret");
  });

  it("explains every flag in --help", async () => {
    const r = await aide(["run", "--help"]);
    expect(r.code).toBe(0);
    for (const flag of [
      "--task",
      "--data",
      "--steps",
      "--parallel",
      "--seed",
      "--coder",
      "--out",
      "--budget",
      "--timeout",
      "--unsafe-no-sandbox",
      "--base-url",
      "--code-model",
      "--review-model",
    ]) {
      expect(r.stdout).toContain(flag);
    }
  });
});
