import { existsSync, lstatSync, readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../../src/logger.ts";
import { createExecutor } from "../../../runner/executors/index.ts";
import { LocalExecutor } from "../../../runner/executors/local.ts";
import { ALLOWED_ENV, ENV_DUMP, makeScratch, parseEnvDump, pidsWithMarker, processAlive, waitFor, type Scratch } from "./helpers.ts";

describe("LocalExecutor (unsafe)", () => {
  beforeAll(() => {
    if (!existsSync("/usr/bin/python3")) throw new Error("/usr/bin/python3 is missing (scripts/ensure-deps.sh installs it)");
  });
  let scratch: Scratch;
  const executor = new LocalExecutor({ logger: silentLogger });

  beforeAll(() => {
    scratch = makeScratch("aide-local-test");
  });
  afterAll(() => scratch.cleanup());

  it("is what createExecutor('local') builds", () => {
    expect(createExecutor("local", { logger: silentLogger }).name).toBe("local (UNSAFE, no sandbox)");
  });

  it("runs with ./input linked and ./working writable", async () => {
    const code = `
import sys, pandas as pd
df = pd.read_csv("./input/train.csv")
df.to_csv("./working/submission.csv", index=False)
print("out-1"); print("err-2", file=sys.stderr); print("out-3")
`;
    const job = scratch.job("io", code);
    const r = await executor.run(job);
    expect(r.exitCode, r.output).toBe(0);
    expect(r.output).toContain("out-1\nerr-2\nout-3\n");
    expect(r.workingDir).toBe(join(job.nodeDir, "working"));
    expect(readFileSync(join(r.workingDir, "submission.csv"), "utf8")).toContain("id,x,y");
    expect(lstatSync(join(job.nodeDir, "input")).isSymbolicLink()).toBe(true);
    expect(readlinkSync(join(job.nodeDir, "input"))).toBe(scratch.inputDir);
    // a second run in the same node dir replaces the link instead of failing
    expect((await executor.run({ ...job, code: "print('again')" })).output).toBe("again\n");
  });

  it("interrupts at the time limit and kills stubborn children", async () => {
    const marker = `aide-local-sleeper-${process.pid}-${Date.now()}`;
    const code = `
import signal, subprocess, sys, time
signal.signal(signal.SIGINT, signal.SIG_IGN)
subprocess.Popen([sys.executable, "-c", "import signal, time; signal.signal(signal.SIGINT, signal.SIG_IGN); time.sleep(600)", "${marker}"])
while True:
    time.sleep(0.1)
`;
    const started = Date.now();
    const running = executor.run(scratch.job("stubborn", code, { timeoutMs: 1500 }));
    const sleeper = await waitFor(() => pidsWithMarker(marker)[0], 10_000);
    expect(sleeper).not.toBeNull();
    const r = await running;
    expect(r.timedOut).toBe(true);
    expect(r.signal).toBe("SIGKILL");
    expect(Date.now() - started).toBeLessThan(8000);
    expect(await waitFor(() => (processAlive(sleeper!) ? null : true), 2000)).toBe(true);
  });

  it("shows a KeyboardInterrupt traceback on timeout", async () => {
    const r = await executor.run(scratch.job("loop", "while True:\n    pass\n", { timeoutMs: 1000 }));
    expect(r.timedOut).toBe(true);
    expect(r.output).toContain("KeyboardInterrupt");
  });

  it("caps memory with RLIMIT_AS", async () => {
    const code = `
chunks = []
for i in range(40):
    chunks.append(bytearray(64 * 1024 * 1024))
print("SURVIVED")
`;
    const r = await executor.run(scratch.job("oom", code, { memoryMb: 512 }));
    expect(r.output).toContain("MemoryError");
    expect(r.outOfMemory).toBe(true);
  });

  it("caps output", async () => {
    const r = await executor.run(scratch.job("chatty", "for i in range(50_000):\n    print('z' * 99)\nprint('END-OF-OUTPUT')\n", { outputCap: 100_000 }));
    expect(r.outputCapped).toBe(true);
    expect(r.output.length).toBeLessThan(100_200);
    expect(r.output).toContain("END-OF-OUTPUT");
  });

  it("uses the same clean environment", async () => {
    const before = process.env.OPENAI_API_KEY;
    process.env.OPENAI_API_KEY = "sk-test-secret";
    try {
      const r = await executor.run(scratch.job("env", ENV_DUMP));
      expect(r.exitCode, r.output).toBe(0);
      expect(r.output).not.toContain("sk-test-secret");
      const env = parseEnvDump(r.output);
      for (const key of Object.keys(env)) expect(ALLOWED_ENV.has(key), `unexpected variable ${key}`).toBe(true);
      expect(existsSync(env.HOME!)).toBe(false); // the temporary HOME is removed after the run
    } finally {
      if (before === undefined) delete process.env.OPENAI_API_KEY;
      else process.env.OPENAI_API_KEY = before;
    }
  });
});
