/**
 * What is particular to the bubblewrap executor; what every executor must do is in contract.test.ts. Here:
 * the read-only workspace and system around ./working, the RLIMIT_AS fallback for machines without writable
 * cgroups, and the errors that name what to install.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ExecutorError } from "../../../src/errors.ts";
import { silentLogger } from "../../../src/logger.ts";
import { SandboxExecutor } from "../../../runner/executors/sandbox.ts";
import { makeScratch, type Scratch } from "./helpers.ts";

const check = await SandboxExecutor.check();

describe("SandboxExecutor (bubblewrap)", () => {
  // npm test installs bubblewrap and Debian's Python stack (scripts/ensure-deps.sh): a missing one is a failure.
  let scratch: Scratch;
  const executor = new SandboxExecutor({ logger: silentLogger });

  beforeAll(() => {
    if (!check.ok) throw new Error(`the bubblewrap sandbox cannot run here: ${check.reason}`);
    scratch = makeScratch("aide-sandbox-test");
  });
  afterAll(() => scratch.cleanup());

  it("keeps the workspace and the system read-only, with a private writable HOME and /tmp", async () => {
    const code = `
import os
for path in ["./train.csv", "./solution.py", "/usr/evil.txt", "/etc/evil.txt"]:
    try:
        open(path, "w").write("x")
        print("WRITABLE", path)
    except OSError as e:
        print("write failed:", path, e.errno)
open(os.path.join(os.environ["HOME"], "h.txt"), "w").write("home")
open("/tmp/t.txt", "w").write("tmp")
print("home", os.environ["HOME"], open(os.path.join(os.environ["HOME"], "h.txt")).read(), open("/tmp/t.txt").read())
print("cwd", os.getcwd(), sorted(os.listdir(".")))
`;
    const r = await executor.run(scratch.job("ro", code));
    expect(r.exitCode, r.output).toBe(0);
    expect(r.output).not.toContain("WRITABLE");
    expect(r.output).toContain("write failed: ./train.csv 30"); // EROFS
    expect(r.output).toContain("write failed: ./solution.py 30");
    expect(r.output).toContain("write failed: /usr/evil.txt 30");
    expect(r.output).toContain("home /tmp/home home tmp");
    expect(r.output).toContain("cwd /workspace ['input', 'solution.py', 'working']");
  });

  describe("without a cgroup (RLIMIT_AS fallback, as on machines where cgroups are not writable)", () => {
    const rlimited = new SandboxExecutor({ logger: silentLogger, memoryLimit: "rlimit" });

    it("turns a large allocation into a MemoryError flagged as out of memory", async () => {
      const code =
        "chunks = []\nfor i in range(40):\n    chunks.append(bytearray(64 * 1024 * 1024))\nprint('SURVIVED')\n";
      const r = await rlimited.run(scratch.job("oom-rlimit", code, { memoryMb: 512 }));
      expect(r.output).not.toContain("SURVIVED");
      expect(r.output).toContain("MemoryError");
      expect(r.outOfMemory).toBe(true);
    });

    it("still imports numpy/pandas/sklearn and fits under 1024 MB", async () => {
      const code = `
import numpy as np, pandas as pd
from sklearn.linear_model import LogisticRegression
X = np.random.default_rng(0).normal(size=(2000, 10)); y = (X[:, 0] > 0).astype(int)
print("score", LogisticRegression().fit(X, y).score(X, y))
`;
      const r = await rlimited.run(scratch.job("sklearn-rlimit", code, { memoryMb: 1024 }));
      expect(r.exitCode, r.output).toBe(0);
      expect(r.output).toMatch(/score 0\.9/);
    });
  });

  it("throws an ExecutorError naming the package when bubblewrap is missing", async () => {
    const broken = new SandboxExecutor({ logger: silentLogger, bwrapPath: "/nonexistent/bwrap" });
    const err = await broken.run(scratch.job("nobwrap", "print(1)")).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ExecutorError);
    expect((err as ExecutorError).userMessage).toMatch(/apt-get install bubblewrap/);
    const report = await SandboxExecutor.check({ bwrapPath: "/nonexistent/bwrap" });
    expect(report.ok).toBe(false);
    expect(report.reason).toMatch(/not installed/);
  });

  it("throws an ExecutorError when the interpreter is missing", async () => {
    const broken = new SandboxExecutor({ logger: silentLogger, pythonPath: "/nonexistent/python3" });
    await expect(broken.run(scratch.job("nopython", "print(1)"))).rejects.toBeInstanceOf(ExecutorError);
  });
});
