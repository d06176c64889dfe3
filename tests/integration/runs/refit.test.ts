/**
 * The final refit of a run with a hidden holdout (src/runs/refit.ts), with the local executor and real Python on
 * the bundled loan-default input: a script that works is run on every labelled row and its submission, checked
 * against the user's sample, is the one delivered; a script that crashes, or writes a submission that does not
 * match, leaves the node's own submission delivered with a note that says why.
 */
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { LocalExecutor } from "../../../runner/executors/local.ts";
import { silentLogger } from "../../../src/logger.ts";
import { HoldoutRefitter, refitDirName } from "../../../src/runs/refit.ts";
import { SampleSubmissionChecker } from "../../../src/workspace/index.ts";
import { solutionNode } from "../../fakes/solution-nodes.ts";

const INPUT = resolve("examples/loan-default/input");
let runDir: string;

beforeEach(async () => {
  runDir = await mkdtemp(join(tmpdir(), "aide-refit-"));
});
afterEach(async () => {
  await rm(runDir, { recursive: true, force: true });
});

function refitter(): HoldoutRefitter {
  return new HoldoutRefitter({
    executor: new LocalExecutor({ logger: silentLogger }),
    inputDir: INPUT,
    runDir,
    limits: { timeoutMs: 60_000, memoryMb: 1024, outputCap: 10_000 },
    checker: new SampleSubmissionChecker(INPUT),
    labelledRows: 1400,
    logger: silentLogger,
  });
}

const node = (id: number, code: string) => solutionNode(id, { code, metric: 0.8 });

/** Counts train.csv's rows (printed, to see the refit had them all) and writes `rows` of test.csv's ids. */
const writer = (rows = "ids") => `
import csv
train = list(csv.DictReader(open("./input/train.csv")))
print("train rows", len(train))
ids = [r["id"] for r in csv.DictReader(open("./input/test.csv"))]
import os
os.makedirs("./working", exist_ok=True)
with open("./working/submission.csv", "w") as f:
    f.write("id,default\\n")
    for i in ${rows}:
        f.write(f"{i},0.5\\n")
`;

describe("HoldoutRefitter", () => {
  it("runs the node's script on all the labelled rows and delivers its checked submission", async () => {
    const outcome = await refitter().refit(node(4, writer()), []);
    expect(outcome).toEqual({
      ok: true,
      nodeId: 4,
      submissionPath: `${refitDirName(4)}/working/submission.csv`,
      note: "node 4 refit on all 1400 labelled rows",
    });
    if (!outcome.ok) throw new Error("unreachable");
    const written = await readFile(join(runDir, outcome.submissionPath), "utf8");
    expect(written.trim().split("\n")).toHaveLength(601);
    expect(await readFile(join(runDir, refitDirName(4), "output.log"), "utf8")).toContain("train rows 1400");
  });

  it("says why when the script crashes, and delivers the node's own submission", async () => {
    const outcome = await refitter().refit(node(2, "raise SystemExit(3)\n"), []);
    expect(outcome.ok).toBe(false);
    expect(outcome.note).toBe(
      "the refit of node 2 on all 1400 labelled rows failed (the script exited with code 3); its own submission is delivered",
    );
  });

  it("rejects a refit submission that does not match the user's sample submission", async () => {
    const outcome = await refitter().refit(node(3, writer("ids[:10]")), []);
    expect(outcome.ok).toBe(false);
    expect(outcome.note).toMatch(/^the refit of node 3 on all 1400 labelled rows failed \(.+\); its own submission/);
  });

  it("says so when the script writes no submission", async () => {
    const outcome = await refitter().refit(node(5, "print('nothing')\n"), []);
    expect(outcome.ok).toBe(false);
    expect(outcome.note).toContain("it wrote no submission.csv");
    expect(existsSync(join(runDir, refitDirName(5), "working", "submission.csv"))).toBe(false);
  });
});
