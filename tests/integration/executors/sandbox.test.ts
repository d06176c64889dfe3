import { existsSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ExecutorError } from "../../../src/errors.ts";
import { silentLogger } from "../../../src/logger.ts";
import { SandboxExecutor } from "../../../runner/executors/sandbox.ts";
import { createExecutor } from "../../../runner/executors/index.ts";
import { ALLOWED_ENV, ENV_DUMP, makeScratch, parseEnvDump, pidsWithMarker, processAlive, waitFor, type Scratch } from "./helpers.ts";

const check = await SandboxExecutor.check();

describe("SandboxExecutor (bubblewrap)", () => {
  // npm test installs bubblewrap and Debian's Python stack (scripts/ensure-deps.sh): a missing one is a failure.
  beforeAll(() => {
    if (!check.ok) throw new Error(`the bubblewrap sandbox cannot run here: ${check.reason}`);
  });
  let scratch: Scratch;
  const executor = new SandboxExecutor({ logger: silentLogger });

  beforeAll(() => {
    scratch = makeScratch("aide-sandbox-test");
  });
  afterAll(() => scratch.cleanup());

  it("is what createExecutor('sandbox') builds", () => {
    expect(createExecutor("sandbox", { logger: silentLogger }).name).toBe("sandbox (bubblewrap)");
  });

  it("reads ./input, writes ./working/submission.csv, keeps input read-only and merges output in order", async () => {
    const code = `
import sys, os
import pandas as pd
df = pd.read_csv("./input/train.csv")
df[["id"]].assign(y=0).to_csv("./working/submission.csv", index=False)
print("A-stdout")
print("B-stderr", file=sys.stderr)
print("C-stdout")
try:
    open("./input/evil.txt", "w").write("x")
    print("INPUT-WRITABLE")
except OSError as e:
    print("input write failed:", e.errno)
try:
    open("./train.csv", "w").write("x")
    print("ROOT-WRITABLE")
except OSError as e:
    print("root write failed:", e.errno)
print("cwd", os.getcwd(), "rows", len(df))
`;
    const job = scratch.job("io", code);
    const r = await executor.run(job);
    expect(r.exitCode, r.output).toBe(0);
    expect(r.signal).toBeNull();
    expect(r.timedOut).toBe(false);
    expect(r.outOfMemory).toBe(false);
    expect(r.output).toContain("A-stdout\nB-stderr\nC-stdout\n");
    expect(r.output).toContain("input write failed: 30"); // EROFS
    expect(r.output).toContain("root write failed: 30");
    expect(r.output).not.toContain("WRITABLE");
    expect(r.output).toContain("cwd /workspace rows 3");
    expect(r.workingDir).toBe(join(job.nodeDir, "working"));
    expect(readFileSync(join(r.workingDir, "submission.csv"), "utf8")).toBe("id,y\n1,0\n2,0\n3,0\n");
    expect(readFileSync(join(job.nodeDir, "solution.py"), "utf8")).toBe(code);
    expect(existsSync(join(scratch.inputDir, "evil.txt"))).toBe(false);
  });

  describe("network", () => {
    let server: Server;
    let port = 0;
    let connections = 0;
    beforeAll(async () => {
      server = createServer((socket) => {
        connections += 1;
        socket.end("hello from the host\n");
      });
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      const address = server.address();
      port = typeof address === "object" && address ? address.port : 0;
    });
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

    it("cannot reach the internet nor a server listening on the host's loopback", async () => {
      const code = `
import socket
for host, port in [("1.1.1.1", 80), ("127.0.0.1", ${port})]:
    s = socket.socket()
    s.settimeout(3)
    try:
        s.connect((host, port))
        print("CONNECTED", host, port, s.recv(100))
    except OSError as e:
        print("blocked", host, port, type(e).__name__)
    finally:
        s.close()
try:
    socket.getaddrinfo("example.com", 80)
    print("DNS-RESOLVED")
except OSError as e:
    print("dns failed")
`;
      const r = await executor.run(scratch.job("net", code, { timeoutMs: 20_000 }));
      expect(r.exitCode, r.output).toBe(0);
      expect(r.output).not.toContain("CONNECTED");
      expect(r.output).not.toContain("DNS-RESOLVED");
      expect(r.output).toContain("blocked 1.1.1.1 80");
      expect(r.output).toContain(`blocked 127.0.0.1 ${port}`);
      expect(connections).toBe(0);
    });
  });

  it("interrupts a script at the time limit with a KeyboardInterrupt traceback", async () => {
    const started = Date.now();
    const r = await executor.run(scratch.job("loop", "print('looping')\nwhile True:\n    pass\n", { timeoutMs: 1500 }));
    const elapsed = Date.now() - started;
    expect(r.timedOut).toBe(true);
    expect(r.outOfMemory).toBe(false);
    expect(r.output).toContain("looping");
    expect(r.output).toContain("KeyboardInterrupt");
    expect(r.output).toContain("Traceback");
    expect(elapsed).toBeLessThan(5000);
    expect(r.durationMs).toBeGreaterThanOrEqual(1400);
  });

  it("kills a script that ignores SIGINT, and its children, after the grace period", async () => {
    const marker = `aide-sleeper-${process.pid}-${Date.now()}`;
    const code = `
import signal, subprocess, sys, time
signal.signal(signal.SIGINT, signal.SIG_IGN)
child = subprocess.Popen([sys.executable, "-c", "import signal, time; signal.signal(signal.SIGINT, signal.SIG_IGN); time.sleep(600)", "${marker}"])
print("child started", child.pid, flush=True)
while True:
    time.sleep(0.1)
`;
    const started = Date.now();
    const running = executor.run(scratch.job("stubborn", code, { timeoutMs: 2000 }));
    const sleeper = await waitFor(() => pidsWithMarker(marker)[0], 10_000);
    expect(sleeper, "the child sleeper was never seen on the host").not.toBeNull();
    const r = await running;
    const elapsed = Date.now() - started;
    expect(r.timedOut).toBe(true);
    expect(r.signal).toBe("SIGKILL");
    expect(r.output).toContain("child started");
    expect(elapsed).toBeLessThan(8000);
    // the sleeper ignores SIGINT too: only the kill got rid of it
    expect(await waitFor(() => (processAlive(sleeper!) ? null : true), 2000)).toBe(true);
    expect(pidsWithMarker(marker)).toEqual([]);
  });

  it("stops a run when the abort signal fires", async () => {
    const controller = new AbortController();
    const started = Date.now();
    setTimeout(() => controller.abort(), 1000);
    const r = await executor.run(
      scratch.job("abort", "import time\nprint('working', flush=True)\nwhile True:\n    time.sleep(0.05)\n", { timeoutMs: 60_000 }),
      controller.signal,
    );
    expect(Date.now() - started).toBeLessThan(5000);
    expect(r.timedOut).toBe(false);
    expect(r.signal).toBe("SIGINT");
    expect(r.output).toContain("KeyboardInterrupt");
  });

  it("refuses to start when already aborted", async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(executor.run(scratch.job("pre-aborted", "print(1)"), controller.signal)).rejects.toThrow();
  });

  it("reports running out of memory", async () => {
    const code = `
chunks = []
for i in range(40):
    chunks.append(bytearray(64 * 1024 * 1024))  # touches every page
    print("allocated MB", (i + 1) * 64, flush=True)
print("SURVIVED")
`;
    const r = await executor.run(scratch.job("oom", code, { memoryMb: 512, timeoutMs: 60_000 }));
    expect(r.output).not.toContain("SURVIVED");
    expect(r.timedOut).toBe(false);
    expect(r.outOfMemory || /MemoryError/.test(r.output), r.output).toBe(true);
    expect(r.outOfMemory).toBe(true);
  });

  it("still runs a normal sklearn fit with 1024 MB", async () => {
    const code = `
import numpy as np, pandas as pd
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import cross_val_score
rng = np.random.default_rng(0)
X = rng.normal(size=(1500, 10)); y = (X[:, 0] + X[:, 1] > 0).astype(int)
score = cross_val_score(RandomForestClassifier(n_estimators=20, n_jobs=2, random_state=0), X, y, cv=3).mean()
print(f"AIDE_METRIC accuracy={score:.4f}")
`;
    const r = await executor.run(scratch.job("sklearn", code, { memoryMb: 1024, timeoutMs: 120_000 }));
    expect(r.exitCode, r.output).toBe(0);
    expect(r.outOfMemory).toBe(false);
    expect(r.output).toMatch(/AIDE_METRIC accuracy=0\.9\d+/);
  });

  describe("without a cgroup (RLIMIT_AS fallback, as on machines where cgroups are not writable)", () => {
    const rlimited = new SandboxExecutor({ logger: silentLogger, memoryLimit: "rlimit" });

    it("turns a large allocation into a MemoryError flagged as out of memory", async () => {
      const code = "chunks = []\nfor i in range(40):\n    chunks.append(bytearray(64 * 1024 * 1024))\nprint('SURVIVED')\n";
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

  it("caps stored output and keeps the last line", async () => {
    const code = `
line = "x" * 99
for i in range(50_000):
    print(line)
print("THE-LAST-LINE")
`;
    const r = await executor.run(scratch.job("chatty", code, { outputCap: 100_000 }));
    expect(r.exitCode, r.output.slice(-500)).toBe(0);
    expect(r.outputCapped).toBe(true);
    expect(r.output.length).toBeLessThan(100_000 + 200);
    expect(r.output).toContain("THE-LAST-LINE");
    expect(r.output.startsWith("x".repeat(99))).toBe(true);
  });

  it("kills a script whose output passes the hard ceiling", async () => {
    const small = new SandboxExecutor({ logger: silentLogger, outputCeiling: 3_000_000 });
    const started = Date.now();
    const r = await small.run(scratch.job("flood", "import sys\nwhile True:\n    sys.stdout.write('y' * 10000)\n", { outputCap: 10_000 }));
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(r.signal).toBe("SIGKILL");
    expect(r.outputCapped).toBe(true);
    expect(r.output.length).toBeLessThan(10_000 + 400);
    expect(r.output).toContain("output exceeded");
  });

  it("does not let the parent's environment (secrets) into the sandbox", async () => {
    const before = process.env.OPENAI_API_KEY;
    process.env.OPENAI_API_KEY = "sk-test-secret";
    try {
      const code = `${ENV_DUMP}
import os
leaks = []
for pid in os.listdir("/proc"):
    if pid.isdigit():
        try:
            if b"sk-test-secret" in open(f"/proc/{pid}/environ", "rb").read():
                leaks.append(pid)
        except OSError:
            pass
print("LEAKS", leaks)
`;
      const r = await executor.run(scratch.job("env", code));
      expect(r.exitCode, r.output).toBe(0);
      expect(r.output).not.toContain("sk-test-secret");
      expect(r.output).toContain("LEAKS []");
      const env = parseEnvDump(r.output);
      expect(env.OPENAI_API_KEY).toBeUndefined();
      for (const key of Object.keys(env)) expect(ALLOWED_ENV.has(key), `unexpected variable ${key}`).toBe(true);
      expect(env.PYTHONUNBUFFERED).toBe("1");
      expect(env.HOME).toBe("/tmp/home");
    } finally {
      if (before === undefined) delete process.env.OPENAI_API_KEY;
      else process.env.OPENAI_API_KEY = before;
    }
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
