/**
 * The executor contract, run against every executor as the one factory (select.ts) makes them: bubblewrap,
 * Docker, both warm, and the unsafe local one. What a script may do, what stops it and how its end reads must
 * be the same whichever runs it; where an executor cannot keep a clause by design, the case is skipped with
 * the reason. Docker needs the daemon and the sandbox image (tests/support/docker.ts makes sure of both, as
 * the other Docker tests do). What is specific to one executor stays in its own file (docker.test.ts,
 * sandbox.test.ts, local.test.ts, warm.test.ts).
 */
import { chmodSync, existsSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import Dockerode from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Logger } from "../../../src/logger.ts";
import type { ExecutionResult, Executor, ScriptJob } from "../../../src/search/types.ts";
import { OWNER_LABEL } from "../../../runner/executors/container-spec.ts";
import { DockerExecutor } from "../../../runner/executors/docker.ts";
import { LocalExecutor } from "../../../runner/executors/local.ts";
import { SandboxExecutor } from "../../../runner/executors/sandbox.ts";
import { selectExecutor, type ExecutorChoice } from "../../../runner/executors/select.ts";
import { DOCKER_SETUP_TIMEOUT_MS, ensureDockerSandbox } from "../../support/docker.ts";
import {
  ALLOWED_ENV,
  capturingLogger,
  ENV_DUMP,
  makeScratch,
  parseEnvDump,
  pidsWithMarker,
  processAlive,
  waitFor,
  withSecretInEnv,
  type Scratch,
} from "./helpers.ts";

/** What every executor's options have in common, and what these cases set. */
interface CommonOptions {
  logger: Logger;
  graceMs?: number;
  outputCeiling?: number;
}

interface Kind {
  name: string;
  /** How the factory is asked for it. */
  choice: ExecutorChoice;
  warm: boolean;
  /** Runs in a sandbox (false: the local executor, unsafe by design: it can reach the network and the host). */
  sandboxed: boolean;
  /** Scripts run in containers. */
  docker: boolean;
  /** Variables the engine adds besides the clean environment. */
  engineEnv: string[];
  setup(): Promise<void>;
  make(opts: CommonOptions): Executor;
}

async function bubblewrapReady(): Promise<void> {
  // npm test installs bubblewrap and Debian's Python stack (scripts/ensure-deps.sh): a missing one is a failure.
  const check = await SandboxExecutor.check();
  if (!check.ok) throw new Error(`the bubblewrap sandbox cannot run here: ${check.reason}`);
}

async function dockerReady(): Promise<void> {
  await ensureDockerSandbox();
}

const kinds: Kind[] = [
  {
    name: "sandbox",
    choice: "sandbox",
    warm: false,
    sandboxed: true,
    docker: false,
    engineEnv: [],
    setup: bubblewrapReady,
    make: (o) => new SandboxExecutor(o),
  },
  {
    name: "docker",
    choice: "docker",
    warm: false,
    sandboxed: true,
    docker: true,
    engineEnv: ["HOSTNAME"],
    setup: dockerReady,
    make: (o) => new DockerExecutor(o),
  },
  {
    name: "warm sandbox",
    choice: "sandbox",
    warm: true,
    sandboxed: true,
    docker: false,
    engineEnv: [],
    setup: bubblewrapReady,
    make: (o) => new SandboxExecutor({ ...o, warm: true }),
  },
  {
    name: "warm docker",
    choice: "docker",
    warm: true,
    sandboxed: true,
    docker: true,
    engineEnv: ["HOSTNAME"],
    setup: dockerReady,
    make: (o) => new DockerExecutor({ ...o, warm: true }),
  },
  {
    name: "local",
    choice: "local",
    warm: false,
    sandboxed: false,
    docker: false,
    engineEnv: [],
    setup: async () => {
      if (!existsSync("/usr/bin/python3"))
        throw new Error("/usr/bin/python3 is missing (scripts/ensure-deps.sh installs it)");
    },
    make: (o) => new LocalExecutor(o),
  },
];

const GRACE_MS = 1000;
const CEILING = 3_000_000;
const docker = new Dockerode();

/** Processes whose command line names `dir`, and this process's containers with a mount from under it. */
async function leftovers(dir: string, withDocker: boolean): Promise<string[]> {
  const found = pidsWithMarker(dir).map((pid) => `pid ${pid}`);
  if (withDocker) {
    const containers = await docker.listContainers({
      all: true,
      filters: { label: [`${OWNER_LABEL}=${process.pid}`] },
    });
    for (const c of containers)
      if (c.Mounts.some((m) => m.Source.startsWith(dir))) found.push(`container ${c.Id.slice(0, 12)}`);
  }
  return found;
}

const LOOP_FOREVER = "import time\nprint('working', flush=True)\nwhile True:\n    time.sleep(0.05)\n";

describe.each(kinds)("executor contract: $name", (kind) => {
  let scratch: Scratch;
  let executor: Executor;
  const log = capturingLogger();

  /** Runs a job as a search step does: the run's interpreters are asked for first (warm kinds use one). */
  const run = async (job: ScriptJob, signal?: AbortSignal, ex: Executor = executor): Promise<ExecutionResult> => {
    await ex.prepareRun?.({ inputDir: job.inputDir, runDir: scratch.root, memoryMb: job.memoryMb });
    return ex.run(job, signal);
  };

  beforeAll(async () => {
    await kind.setup();
    scratch = makeScratch(`aide-contract-${kind.name.replace(" ", "-")}`);
    chmodSync(scratch.root, 0o755);
    executor = kind.make({ logger: log.logger, graceMs: GRACE_MS, outputCeiling: CEILING });
  }, DOCKER_SETUP_TIMEOUT_MS);
  afterAll(async () => {
    await executor?.close?.();
    scratch?.cleanup();
  });

  it("is what the executor factory builds for its configuration", async () => {
    const made = await selectExecutor(kind.choice, { logger: log.logger, warm: kind.warm });
    try {
      expect(made.name).toBe(executor.name);
      expect(made.name).toContain(kind.warm ? "warm" : kind.choice);
    } finally {
      await made.close?.();
    }
  });

  it("runs a script: reads ./input, writes ./working (which lands in nodeDir/working), merges output in order, returns the exit code", async () => {
    const code = `
import os, sys
print("preloaded", "pandas" in sys.modules)
import pandas as pd
df = pd.read_csv("./input/train.csv")
os.makedirs("./working/sub", exist_ok=True)
df[["id"]].assign(y=0).to_csv("./working/submission.csv", index=False)
open("./working/sub/note.txt", "w").write("kept")
print("A-stdout")
print("B-stderr", file=sys.stderr)
print("C-stdout")
try:
    open("./input/evil.txt", "w").write("x")
    print("INPUT-WRITABLE")
except OSError as e:
    print("input write failed:", e.errno)
print("rows", len(df))
`;
    const job = scratch.job("io", code);
    const r = await run(job);
    expect(r.exitCode, r.output).toBe(0);
    expect(r.signal).toBeNull();
    expect(r.timedOut).toBe(false);
    expect(r.outOfMemory).toBe(false);
    expect(r.outputCapped).toBe(false);
    // Warm kinds fork from an interpreter that has pandas imported; a cold python has not.
    expect(r.output).toContain(`preloaded ${kind.warm ? "True" : "False"}\n`);
    expect(r.output).toContain("A-stdout\nB-stderr\nC-stdout\n");
    expect(r.output).toContain("rows 3");
    expect(r.workingDir).toBe(join(job.nodeDir, "working"));
    expect(readFileSync(join(r.workingDir, "submission.csv"), "utf8")).toBe("id,y\n1,0\n2,0\n3,0\n");
    expect(readFileSync(join(r.workingDir, "sub", "note.txt"), "utf8")).toBe("kept");
    expect(readFileSync(join(job.nodeDir, "solution.py"), "utf8")).toBe(code);
    if (kind.sandboxed) {
      expect(r.output).toContain("input write failed: 30"); // EROFS
      expect(existsSync(join(scratch.inputDir, "evil.txt"))).toBe(false);
    }
    if (kind.warm) expect(log.lines.some((l) => l.msg === "warm run finished")).toBe(true);

    const failing = await run(scratch.job("exit-3", "import sys\nprint('bye')\nsys.exit(3)\n"));
    expect(failing.exitCode).toBe(3);
    expect(failing.signal).toBeNull();
    expect(failing.outOfMemory).toBe(false);
    expect(failing.output).toBe("bye\n");
  }, 120_000);

  it.skipIf(!kind.sandboxed)(
    "keeps ./input read-only (local: unsandboxed by design, ./input is a link to the task's own directory)",
    async () => {
      const r = await run(
        scratch.job(
          "ro",
          "import os\nfor p in ['./input/train.csv', './input/new.txt']:\n    try:\n        open(p, 'a').write('x')\n        print('WRITABLE', p)\n    except OSError as e:\n        print('refused', p, e.errno)\n",
        ),
      );
      expect(r.exitCode, r.output).toBe(0);
      expect(r.output).not.toContain("WRITABLE");
      // A new file: EROFS. The existing one is not the script user's in Docker, which may answer EACCES first.
      expect(r.output).toMatch(/refused \.\/input\/train\.csv (30|13)/);
      expect(r.output).toContain("refused ./input/new.txt 30");
      expect(readFileSync(join(scratch.inputDir, "train.csv"), "utf8")).toBe("id,x,y\n1,0.5,1\n2,1.5,0\n3,2.5,1\n");
    },
  );

  it("imports the ML stack and fits a model", async () => {
    const code = `
import numpy as np, pandas as pd, scipy
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import cross_val_score
rng = np.random.default_rng(0)
X = rng.normal(size=(1500, 10)); y = (X[:, 0] + X[:, 1] > 0).astype(int)
score = cross_val_score(RandomForestClassifier(n_estimators=20, n_jobs=2, random_state=0), X, y, cv=3).mean()
print(f"AIDE_METRIC accuracy={score:.4f}")
`;
    const r = await run(scratch.job("sklearn", code, { memoryMb: 1024, timeoutMs: 120_000 }));
    expect(r.exitCode, r.output).toBe(0);
    expect(r.timedOut).toBe(false);
    expect(r.outOfMemory).toBe(false);
    expect(r.output).toMatch(/AIDE_METRIC accuracy=0\.9\d+/);
    expect(r.durationMs).toBeLessThan(60_000);
  }, 150_000);

  it("ends a script promptly that leaves a thread pool to the interpreter's exit", async () => {
    const code = `
import concurrent.futures
# Kept alive by a module, as joblib keeps its pool: only the interpreter's exit hooks stop its workers.
concurrent.futures.KEPT = concurrent.futures.ThreadPoolExecutor(2)
print("result", concurrent.futures.KEPT.submit(pow, 2, 10).result(), flush=True)
`;
    const r = await run(scratch.job("thread-pool", code, { timeoutMs: 30_000 }));
    expect(r.exitCode, r.output).toBe(0);
    expect(r.timedOut).toBe(false);
    expect(r.output).toBe("result 1024\n");
    expect(r.durationMs).toBeLessThan(10_000);
  }, 60_000);

  it("interrupts a script at the time limit with a KeyboardInterrupt traceback, promptly, and the next script runs", async () => {
    const started = Date.now();
    const r = await run(
      scratch.job("loop", "print('looping', flush=True)\nwhile True:\n    pass\n", { timeoutMs: 1500 }),
    );
    const elapsed = Date.now() - started;
    expect(r.timedOut).toBe(true);
    expect(r.outOfMemory).toBe(false);
    expect(r.exitCode === 0).toBe(false);
    expect(r.output).toContain("looping");
    expect(r.output).toContain("Traceback");
    expect(r.output).toContain("KeyboardInterrupt");
    expect(r.durationMs).toBeGreaterThanOrEqual(1400);
    expect(elapsed).toBeLessThan(6000);
    const next = await run(scratch.job("after-timeout", "print('fine')\n"));
    expect(next.exitCode).toBe(0);
    expect(next.output).toBe("fine\n");
  }, 60_000);

  it("kills a script that ignores SIGINT, and its child, after the grace time", async () => {
    const marker = `aide-contract-sleeper-${process.pid}-${Date.now()}`;
    const code = `
import signal, subprocess, sys, time
signal.signal(signal.SIGINT, signal.SIG_IGN)
child = subprocess.Popen([sys.executable, "-c", "import signal, time; signal.signal(signal.SIGINT, signal.SIG_IGN); time.sleep(600)", "${marker}"])
print("child started", flush=True)
while True:
    time.sleep(0.1)
`;
    const job = scratch.job("stubborn", code, { timeoutMs: 2000 });
    await executor.prepareRun?.({ inputDir: job.inputDir, runDir: scratch.root, memoryMb: job.memoryMb });
    const started = Date.now();
    const running = executor.run(job);
    const sleeper = await waitFor(() => pidsWithMarker(marker)[0], 10_000);
    expect(sleeper, "the child sleeper was never seen on the host").not.toBeNull();
    const r = await running;
    const elapsed = Date.now() - started;
    expect(r.timedOut).toBe(true);
    expect(r.signal).toBe("SIGKILL");
    expect(r.outOfMemory).toBe(false);
    expect(r.output).toContain("child started");
    expect(elapsed).toBeGreaterThanOrEqual(2000 + GRACE_MS - 100);
    expect(elapsed).toBeLessThan(8000);
    // The sleeper ignores SIGINT too: only the kill got rid of it.
    expect(await waitFor(() => (processAlive(sleeper!) ? null : true), 3000)).toBe(true);
    expect(pidsWithMarker(marker)).toEqual([]);
  }, 60_000);

  it("caps the stored output, keeping its head and last line", async () => {
    const code = `
line = "x" * 99
for i in range(20_000):  # 2 MB: past the cap, short of the ceiling
    print(line)
print("THE-LAST-LINE")
`;
    const r = await run(scratch.job("chatty", code, { outputCap: 100_000 }));
    expect(r.exitCode, r.output.slice(-500)).toBe(0);
    expect(r.outputCapped).toBe(true);
    expect(r.output.length).toBeLessThan(100_000 + 200);
    expect(r.output.startsWith("x".repeat(99))).toBe(true);
    expect(r.output).toContain("THE-LAST-LINE");
  }, 60_000);

  it("kills a script whose output passes the ceiling, and the next script runs", async () => {
    const started = Date.now();
    const r = await run(
      scratch.job("flood", "import sys\nwhile True:\n    sys.stdout.write('y' * 10000)\n", { outputCap: 10_000 }),
    );
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(r.signal).toBe("SIGKILL");
    expect(r.timedOut).toBe(false);
    expect(r.outOfMemory).toBe(false);
    expect(r.outputCapped).toBe(true);
    expect(r.output.length).toBeLessThan(10_000 + 400);
    expect(r.output).toContain(`output exceeded ${CEILING} characters`);
    const next = await run(scratch.job("after-flood", "print('fine')\n"));
    expect(next.exitCode).toBe(0);
    expect(next.output).toBe("fine\n");
  }, 60_000);

  // Every kind enforces memory: cgroups or Docker, else RLIMIT_AS (the local executor included).
  it("reports running out of memory (2.5 GB allocated under a 600 MB limit), and the next script runs", async () => {
    const code = `
chunks = []
for i in range(40):
    chunks.append(bytearray(64 * 1024 * 1024))  # touches every page
    print("allocated MB", (i + 1) * 64, flush=True)
print("SURVIVED")
`;
    const r = await run(scratch.job("oom", code, { memoryMb: 600, timeoutMs: 60_000 }));
    expect(r.output).not.toContain("SURVIVED");
    expect(r.timedOut).toBe(false);
    expect(r.exitCode === 0 && r.signal === null, r.output).toBe(false);
    expect(r.outOfMemory, r.output).toBe(true);
    const next = await run(scratch.job("after-oom", "print('fine')\n", { memoryMb: 600 }));
    expect(next.exitCode, next.output).toBe(0);
    expect(next.output).toBe("fine\n");
  }, 120_000);

  it("stops a script when the abort signal fires", async () => {
    const job = scratch.job("abort", LOOP_FOREVER, { timeoutMs: 60_000 });
    await executor.prepareRun?.({ inputDir: job.inputDir, runDir: scratch.root, memoryMb: job.memoryMb });
    const controller = new AbortController();
    const started = Date.now();
    setTimeout(() => controller.abort(), 1500);
    const r = await executor.run(job, controller.signal);
    expect(Date.now() - started).toBeLessThan(6000);
    expect(r.timedOut).toBe(false);
    expect(r.signal).toBe("SIGINT");
    expect(r.output).toContain("working");
    expect(r.output).toContain("KeyboardInterrupt");
  }, 60_000);

  it("refuses to start a script when already aborted", async () => {
    const controller = new AbortController();
    controller.abort(new Error("stopped by the user"));
    const job = scratch.job("pre-aborted", "open('./working/ran.txt', 'w').write('x')\n");
    await expect(run(job, controller.signal)).rejects.toThrow("stopped by the user");
    expect(existsSync(join(job.nodeDir, "working", "ran.txt"))).toBe(false);
  });

  describe.skipIf(!kind.sandboxed)("network (local: unsandboxed by design, it shares the host's network)", () => {
    let server: Server;
    let port = 0;
    let connections = 0;
    // biome-ignore lint/suspicious/noDuplicateTestHooks: this hook belongs to the describe.skipIf block above, which biome does not see as a describe
    beforeAll(async () => {
      server = createServer((socket) => {
        connections += 1;
        socket.end("hello from the host\n");
      });
      await new Promise<void>((resolve) => server.listen(0, "0.0.0.0", resolve));
      const address = server.address();
      port = typeof address === "object" && address ? address.port : 0;
    });
    // biome-ignore lint/suspicious/noDuplicateTestHooks: this hook belongs to the describe.skipIf block above, which biome does not see as a describe
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

    it("has no interface but lo and reaches neither the internet, nor the host, nor DNS", async () => {
      const code = `
import socket
print("interfaces", sorted(name for _, name in socket.if_nameindex()))
for host, port in [("1.1.1.1", 80), ("127.0.0.1", ${port}), ("172.17.0.1", ${port})]:
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
except OSError:
    print("dns failed")
`;
      const r = await run(scratch.job("net", code, { timeoutMs: 30_000 }));
      expect(r.exitCode, r.output).toBe(0);
      expect(r.output).toContain("interfaces ['lo']");
      expect(r.output).not.toContain("CONNECTED");
      expect(r.output).not.toContain("DNS-RESOLVED");
      expect(r.output).toContain("blocked 1.1.1.1 80");
      expect(r.output).toContain(`blocked 127.0.0.1 ${port}`);
      expect(connections).toBe(0);
    }, 60_000);
  });

  it("passes none of this process's environment (secrets) to scripts, even an executor made while a secret is set", async () => {
    const secret = `sk-contract-${process.pid}-${Date.now()}`;
    // Reading other processes' environments finds the secret in this very process when nothing isolates the
    // script from it (local); a sandbox shows only its own processes.
    const code = `${ENV_DUMP}
import os
leaks = []
for pid in os.listdir("/proc"):
    if pid.isdigit():
        try:
            if b"${secret}" in open(f"/proc/{pid}/environ", "rb").read():
                leaks.append(pid)
        except OSError:
            pass
print("LEAKS", len(leaks))
`;
    await withSecretInEnv(secret, async () => {
      const fresh = kind.make({ logger: log.logger });
      try {
        const r = await run(scratch.job("env", code), undefined, fresh);
        expect(r.exitCode, r.output).toBe(0);
        const env = parseEnvDump(r.output);
        expect(env.OPENAI_API_KEY).toBeUndefined();
        expect(JSON.stringify(env)).not.toContain(secret);
        for (const key of Object.keys(env))
          expect(ALLOWED_ENV.has(key) || kind.engineEnv.includes(key), `unexpected variable ${key}`).toBe(true);
        expect(env.PYTHONUNBUFFERED).toBe("1");
        expect(env.OMP_NUM_THREADS).toMatch(/^\d+$/);
        if (kind.sandboxed) expect(r.output).toContain("LEAKS 0");
      } finally {
        await fresh.close?.();
      }
    });
  }, 120_000);

  it("leaves no process or container behind after prepareRun, a script that starts strays, releaseRun and close", async () => {
    const own = makeScratch(`aide-contract-life-${kind.name.replace(" ", "-")}`);
    chmodSync(own.root, 0o755);
    const marker = `aide-contract-stray-${process.pid}-${Date.now()}`;
    const stray = (session: boolean) =>
      `subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)", "${marker}"], start_new_session=${session ? "True" : "False"})`;
    // A new session leaves the process group: only a sandbox (pid namespace, container) still holds it.
    const code = `import subprocess, sys\n${stray(false)}\n${kind.sandboxed ? `${stray(true)}\n` : ""}print("strays started")\n`;
    const ex = kind.make({ logger: log.logger, graceMs: GRACE_MS });
    const scope = { inputDir: own.inputDir, runDir: own.root, memoryMb: 1024 };
    try {
      await ex.prepareRun?.(scope);
      // A warm kind keeps an interpreter for the run: what releaseRun must stop.
      if (kind.warm) expect(await leftovers(own.root, kind.docker)).not.toEqual([]);
      const r = await ex.run(own.job("strays", code));
      expect(r.exitCode, r.output).toBe(0);
      expect(r.output).toBe("strays started\n");
      expect(
        await waitFor(() => (pidsWithMarker(marker).length === 0 ? true : null), 5000),
        `strays left: ${pidsWithMarker(marker).join(", ")}`,
      ).toBe(true);
      await ex.releaseRun?.(scope);
      expect(await leftovers(own.root, kind.docker)).toEqual([]);
      await ex.close?.();
      expect(await leftovers(own.root, kind.docker)).toEqual([]);
    } finally {
      await ex.close?.();
      own.cleanup();
    }
  }, 120_000);
});
