import { execFile, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const BIN = join(import.meta.dirname, "../../bin/aide.mjs");
const EXAMPLE = join(import.meta.dirname, "../../examples/house-prices");
const dataDir = mkdtempSync(join(tmpdir(), "aide-cli-service-"));
// Local services of their own (REDIS_URL / MONGODB_URI unset), so the commands find them through the data dir.
const env = { ...process.env, AIDE_DATA_DIR: dataDir, REDIS_URL: "", MONGODB_URI: "", AIDE_LOG_LEVEL: "warn" };

async function aide(...args: string[]) {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], { env, timeout: 240_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe("aide runner / submit / status / steer / events / export / services", () => {
  let runner: ChildProcess | null = null;

  beforeAll(async () => {
    const started = await aide("services", "start");
    expect(started.code).toBe(0);
    expect(started.stdout).toMatch(/redis\s+running/);
    expect(started.stdout).toMatch(/mongo\s+running/);
    runner = spawn(process.execPath, [BIN, "runner", "--executor", "sandbox", "--concurrency", "1"], {
      env,
      stdio: "ignore",
    });
  }, 120_000);

  afterAll(async () => {
    runner?.kill("SIGTERM");
    await new Promise((r) => setTimeout(r, 1000));
    runner?.kill("SIGKILL");
    const stopped = await aide("services", "stop");
    expect(stopped.stdout).toMatch(/redis\s+stopped/);
  }, 60_000);

  it("queues a run, steers it, follows its events to the end and exports it", async () => {
    const submitted = await aide(
      "submit",
      "--task",
      join(EXAMPLE, "task.md"),
      "--data",
      join(EXAMPLE, "input"),
      "--steps",
      "5",
    );
    expect(submitted.stderr).toBe("");
    const runId = submitted.stdout.trim();
    expect(runId).toMatch(/^r[0-9a-z]{8}$/);

    const steered = await aide("steer", runId, "use", "a", "random", "forest");
    expect(steered.stdout).toMatch(/Saved as steering message 1 of/);
    const refused = await aide("steer", runId, "more", "lots");
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/^aide: "more" takes a number of steps/);

    const events = await aide("events", runId, "--follow");
    expect(events.code).toBe(0);
    const lines = events.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/run started: 5 steps, coder offline \(no model\), executor sandbox/);
    expect(
      lines.some((l) => l.includes('steering applied: Guidance added for the next steps: "use a random forest"')),
    ).toBe(true);
    expect(lines.filter((l) => / step \d+ finished:/.test(l))).toHaveLength(5);
    // The house prices hold rows out: the best is named by its holdout score (and its own validation number, unless
    // it is an ensemble, which has none).
    expect(lines.at(-1)).toMatch(
      /run finished \(steps\): best node \d+, rmse: holdout [\d.e+]+( · validation [\d.e+]+)?$/,
    );

    const status = JSON.parse((await aide("status", runId, "--json")).stdout);
    expect(status.run.status).toBe("finished");
    expect(status.run.progress.nodes).toBe(5);
    expect(status.events.at(-1).type).toBe("run.finished");
    expect((await aide("status")).stdout).toContain(runId);

    const out = mkdtempSync(join(tmpdir(), "aide-export-"));
    const exported = await aide("export", runId, "--out", out);
    expect(exported.code).toBe(0);
    const journal = JSON.parse(readFileSync(join(out, "journal.json"), "utf8"));
    expect(journal.nodes.map((n: { id: number }) => n.id)).toEqual([0, 1, 2, 3, 4]);
    expect(journal.guidance).toEqual(["use a random forest"]);
    const best = journal.nodes.find((n: { id: number }) => n.id === journal.bestNodeId);
    expect(readFileSync(join(out, "best_solution.py"), "utf8").trim()).toBe(best.code.trim());
    expect(readFileSync(join(out, "best_submission.csv"), "utf8").split("\n")[0]).toBe("id,price");
    expect(existsSync(join(dataDir, "services.json"))).toBe(true);

    // The tree: a self-contained file with every node, and the live page's link with the run's token.
    const treeFile = join(out, "run-tree.html");
    const tree = await aide("tree", runId, "--out", treeFile);
    expect(tree.code).toBe(0);
    expect(tree.stdout).toContain("5 nodes, run finished");
    const html = readFileSync(treeFile, "utf8");
    for (const n of journal.nodes) expect(html).toContain(`"id":${n.id},"parentId"`);
    expect(html).not.toMatch(/<script src=|<link /);
    expect(readFileSync(join(out, "tree.html"), "utf8")).toContain('id="aide-boot"');
    const link = await aide("tree", runId, "--link");
    expect(link.stdout.trim()).toMatch(new RegExp(`^http://localhost:3100/runs/${runId}\\?token=[A-Za-z0-9_-]{43}$`));
    expect((await aide("tree", "rnotarun0", "--out", treeFile)).stderr).toMatch(/^aide: .*rnotarun0/);
  }, 300_000);

  it("says so in one line for a run that does not exist", async () => {
    const r = await aide("status", "rnotarun0");
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/^aide: .*rnotarun0/);
  });
});
