/**
 * What is particular to the unsafe local executor; what every executor must do is in contract.test.ts. Here:
 * ./input is a link to the task's directory (replaced on a second run), and HOME is a temporary directory
 * removed after the run.
 */
import { existsSync, lstatSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../../src/logger.ts";
import { LocalExecutor } from "../../../runner/executors/local.ts";
import { ENV_DUMP, makeScratch, parseEnvDump, type Scratch } from "./helpers.ts";

describe("LocalExecutor (unsafe)", () => {
  let scratch: Scratch;
  const executor = new LocalExecutor({ logger: silentLogger });

  beforeAll(() => {
    if (!existsSync("/usr/bin/python3"))
      throw new Error("/usr/bin/python3 is missing (scripts/ensure-deps.sh installs it)");
    scratch = makeScratch("aide-local-test");
  });
  afterAll(() => scratch.cleanup());

  it("links ./input to the task's directory, and a second run in the same node dir replaces the link", async () => {
    const job = scratch.job("io", "print(open('./input/train.csv').readline().strip())\n");
    const r = await executor.run(job);
    expect(r.exitCode, r.output).toBe(0);
    expect(r.output).toBe("id,x,y\n");
    expect(lstatSync(join(job.nodeDir, "input")).isSymbolicLink()).toBe(true);
    expect(readlinkSync(join(job.nodeDir, "input"))).toBe(scratch.inputDir);
    expect((await executor.run({ ...job, code: "print('again')" })).output).toBe("again\n");
  });

  it("gives each run a temporary HOME and removes it afterwards", async () => {
    const r = await executor.run(
      scratch.job("home", `${ENV_DUMP}\nimport os\nopen(os.path.join(os.environ["HOME"], "x"), "w").write("x")\n`),
    );
    expect(r.exitCode, r.output).toBe(0);
    const home = parseEnvDump(r.output).HOME!;
    expect(home).toMatch(/aide-home-/);
    expect(existsSync(home)).toBe(false);
  });
});
