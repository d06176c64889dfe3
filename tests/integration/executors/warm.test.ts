/**
 * Warm mode of the sandbox and docker executors, against the real thing: scripts forked from one
 * long-lived interpreter per run see nothing of each other, a killed or broken interpreter is replaced (or
 * the run goes cold), and a whole search runs warm. The limits per script (time, memory, output) are the
 * executor contract's (contract.test.ts), which runs the warm executors too.
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../../src/config.ts";
import type { Logger } from "../../../src/logger.ts";
import { executeRun } from "../../../src/runs/execute.ts";
import { createCoder } from "../../../src/coders/index.ts";
import type { Executor, ScriptJob } from "../../../src/search/types.ts";
import { DockerExecutor } from "../../../runner/executors/docker.ts";
import { SandboxExecutor } from "../../../runner/executors/sandbox.ts";
import { DOCKER_SETUP_TIMEOUT_MS, ensureDockerSandbox } from "../../support/docker.ts";
import { capturingLogger, makeScratch, type Scratch } from "./helpers.ts";

/** Prints, as JSON, what a script can see of earlier scripts. */
const PROBE = `import os, sys, json
import sklearn
seen = {
  "preloaded": "pandas" in sys.modules,
  "attr": getattr(sklearn, "AIDE_LEAK", None),
  "env": os.environ.get("AIDE_LEAK"),
  "tmp": sorted(os.listdir("/tmp")),
  "ctl": sorted(os.listdir("/aide-ctl")),
  "dev": sorted(os.listdir("/dev")),
  "shm": len(open("/proc/sysvipc/shm").readlines()) - 1,
  "home": sorted(os.listdir(os.environ["HOME"])) if os.path.isdir(os.environ["HOME"]) else None,
  "working": sorted(os.listdir("./working")),
  "cwd": os.getcwd(),
  "top": sorted(os.listdir(".")),
  "argv": sys.argv,
  "procs": sorted(open(f"/proc/{p}/comm").read().strip() for p in os.listdir("/proc") if p.isdigit()),
}
print("SEEN=" + json.dumps(seen))
`;

const POLLUTE = `import os, sys, subprocess
import sklearn, numpy
sklearn.AIDE_LEAK = "module"
os.environ["AIDE_LEAK"] = "env"
open("./working/a.txt", "w").write("a")
open("/tmp/leak.txt", "w").write("tmp")
for path in ("/aide-ctl/leak.txt", "/dev/leak"):
    try:
        open(path, "w").write("x")
    except OSError:
        pass
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
assert libc.shmget(0x41494445, 4096, 0o1000 | 0o600) >= 0  # IPC_CREAT: a System V segment outlives its creator
os.makedirs(os.path.join(os.environ["HOME"], ".cache"), exist_ok=True)
open(os.path.join(os.environ["HOME"], ".cache", "x"), "w").write("home")
try:
    open("./left.txt", "w").write("cwd")
    print("CWD-WRITABLE")
except OSError as e:
    print("cwd write failed", e.errno)
subprocess.Popen(["sleep", "600"], start_new_session=True)
print("RANDOM", numpy.random.randint(0, 2**31))
`;

function seen(output: string): Record<string, unknown> {
  const line = output.split("\n").find((l) => l.startsWith("SEEN="));
  if (!line) throw new Error(`no SEEN= line in:\n${output}`);
  return JSON.parse(line.slice(5)) as Record<string, unknown>;
}

interface Kind {
  name: string;
  setup(): Promise<void>;
  make(logger: Logger, extra?: Record<string, unknown>): Executor & { close(): Promise<void> };
}

const kinds: Kind[] = [
  {
    name: "sandbox",
    setup: async () => {
      const check = await SandboxExecutor.check();
      if (!check.ok) throw new Error(`the bubblewrap sandbox cannot run here: ${check.reason}`);
    },
    make: (logger, extra = {}) => new SandboxExecutor({ logger, warm: true, graceMs: 1000, ...extra }),
  },
  {
    name: "docker",
    setup: async () => {
      await ensureDockerSandbox();
    },
    make: (logger, extra = {}) => new DockerExecutor({ logger, warm: true, graceMs: 1000, ...extra }),
  },
];

describe.each(kinds)("warm $name executor", (kind) => {
  let scratch: Scratch;
  const log = capturingLogger();
  let executor: Executor & { close(): Promise<void> };
  const job = (name: string, code: string, over: Partial<ScriptJob> = {}) =>
    scratch.job(name, code, { memoryMb: 1024, ...over });
  /** A script with no free interpreter runs cold while one starts: have one ready first. */
  const warmUp = (ex: Executor, memoryMb = 1024) =>
    ex.prepareRun!({ inputDir: scratch.inputDir, runDir: scratch.root, memoryMb });

  beforeAll(async () => {
    await kind.setup();
    scratch = makeScratch(`aide-warm-${kind.name}`);
    chmodSync(scratch.root, 0o755);
    executor = kind.make(log.logger);
  }, DOCKER_SETUP_TIMEOUT_MS);
  afterAll(async () => {
    await executor?.close();
    scratch?.cleanup();
  });

  it("runs scripts forked from one interpreter that has scikit-learn imported, and nothing of one script reaches the next", async () => {
    await warmUp(executor);
    const readyBefore = log.lines.filter((l) => l.msg === "warm interpreter ready").length;
    const first = await executor.run(job("probe-1", PROBE), undefined);
    expect(first.exitCode, first.output).toBe(0);
    const before = seen(first.output);
    expect(before.preloaded).toBe(true);
    expect(before.cwd).toBe("/workspace");
    expect(before.top).toEqual(["input", "solution.py", "working"]);
    expect(before.argv).toEqual(["/workspace/solution.py"]);

    const a = await executor.run(job("pollute", POLLUTE));
    expect(a.exitCode, a.output).toBe(0);
    expect(a.output).toContain("cwd write failed 30"); // EROFS, as in a cold run
    expect(readFileSync(join(a.workingDir, "a.txt"), "utf8")).toBe("a");
    const b = await executor.run(job("pollute-again", POLLUTE));
    expect(b.exitCode, b.output).toBe(0);
    // A fork copies numpy's global generator: each script must still draw its own numbers.
    expect(b.output.match(/RANDOM \d+/)![0]).not.toBe(a.output.match(/RANDOM \d+/)![0]);

    const after = seen((await executor.run(job("probe-2", PROBE))).output);
    expect(log.lines.filter((l) => l.msg === "warm interpreter ready").length).toBe(readyBefore); // all on one interpreter
    expect(log.lines.filter((l) => l.msg === "warm run finished").length).toBeGreaterThanOrEqual(4);
    expect(after.attr).toBeNull();
    expect(after.env).toBeNull();
    expect(after.tmp).toEqual(before.tmp);
    expect(after.ctl).toEqual([]);
    expect(after.dev).toEqual(before.dev);
    expect(after.shm).toBe(0);
    expect(after.home).toEqual(before.home);
    expect(after.working).toEqual([]);
    expect(after.procs).not.toContain("sleep");
    expect(after.procs).toEqual(before.procs);
  }, 120_000);

  it("replaces an interpreter that a script killed, and the next script runs on a new one", async () => {
    await warmUp(executor);
    const ready = () => log.lines.filter((l) => l.msg === "warm interpreter ready").length;
    const readyBefore = ready();
    const before = seen((await executor.run(job("probe-3", PROBE))).output);
    const killer = await executor.run(
      job("kill-parent", "import os, signal, time\nos.kill(os.getppid(), signal.SIGKILL)\ntime.sleep(30)\n"),
    );
    expect(killer.exitCode === 0 && killer.signal === null).toBe(false);
    expect(killer.output).toContain("warm interpreter stopped");
    await warmUp(executor);
    const after = await executor.run(job("probe-4", PROBE));
    expect(after.exitCode, after.output).toBe(0);
    expect(seen(after.output).preloaded).toBe(true);
    expect(before.preloaded).toBe(true);
    expect(ready()).toBe(readyBefore + 1); // a new interpreter replaced the killed one
  }, 120_000);

  it("runs a whole search warm (offline coder, real scikit-learn scripts)", async () => {
    const runDir = join(scratch.root, "search");
    const input = join(runDir, "input");
    mkdirSync(input, { recursive: true });
    const rows = Array.from({ length: 120 }, (_, i) => `${i},${(i * 7) % 13},${(i * 3) % 5},${i % 2}`);
    writeFileSync(join(input, "train.csv"), `id,a,b,target\n${rows.slice(0, 90).join("\n")}\n`);
    writeFileSync(
      join(input, "test.csv"),
      `id,a,b\n${rows
        .slice(90)
        .map((r) => r.split(",").slice(0, 3).join(","))
        .join("\n")}\n`,
    );
    writeFileSync(
      join(input, "sample_submission.csv"),
      `id,target\n${rows
        .slice(90)
        .map((r) => `${r.split(",")[0]},0`)
        .join("\n")}\n`,
    );
    chmodSync(input, 0o755);
    const config = loadConfig({
      env: {},
      overrides: { search: { steps: 4, parallel: 2 }, execution: { memoryMb: 2048 } },
    });
    const search = capturingLogger();
    const searchExecutor = kind.make(search.logger);
    try {
      await searchExecutor.prepareRun!({ inputDir: input, runDir: join(runDir, "run"), memoryMb: 2048 });
      const result = await executeRun({
        runId: `warm-${kind.name}`,
        task: "Predict target (0/1). Metric: accuracy. Submission: id,target.",
        inputDir: input,
        runDir: join(runDir, "run"),
        config,
        coder: createCoder(config, search.logger),
        executor: searchExecutor,
        sink: { nodeFinished: async () => {}, event: async () => {} },
        logger: search.logger,
      });
      expect(result.journal.nodes.length).toBe(4);
      expect(result.best, JSON.stringify(result.journal.nodes.map((n) => n.output.slice(-400)))).not.toBeNull();
      expect(existsSync(join(runDir, "run", result.best!.submissionPath!))).toBe(true);
      // Scripts with no free interpreter run cold while another starts (the two in flight at first).
      const warmRuns = search.lines.filter((l) => l.msg === "warm run finished");
      expect(warmRuns.length).toBeGreaterThanOrEqual(2);
      // Released at the end of the run.
      expect(search.lines.some((l) => String(l.msg).startsWith("warm mode unavailable"))).toBe(false);
    } finally {
      await searchExecutor.close();
    }
  }, 300_000);
});

describe("warm sandbox executor without a usable interpreter", () => {
  it("falls back to cold runs and says why", async () => {
    const scratch = makeScratch("aide-warm-fallback");
    // An interpreter that cannot import numpy (no site-packages): the warm server cannot start.
    // Outside /tmp, which the sandbox replaces with its own.
    const prefix = mkdtempSync("/var/tmp/aide-warm-python-");
    const bin = join(prefix, "bin");
    mkdirSync(bin, { recursive: true });
    writeFileSync(join(bin, "python3"), '#!/bin/sh\nexec /usr/bin/python3 -S "$@"\n');
    chmodSync(join(bin, "python3"), 0o755);
    const log = capturingLogger();
    const executor = new SandboxExecutor({ logger: log.logger, warm: true, pythonPath: join(bin, "python3") });
    try {
      await executor.prepareRun({ inputDir: scratch.inputDir, runDir: scratch.root, memoryMb: 1024 });
      const r = await executor.run(scratch.job("cold", "import os\nprint('ran', os.getcwd())\n"));
      expect(r.exitCode, r.output).toBe(0);
      expect(r.output).toContain("ran /workspace");
      const warn = log.lines.find((l) => String(l.msg).startsWith("warm mode unavailable"));
      expect(warn?.msg).toContain("cannot import numpy");
      const again = await executor.run(scratch.job("cold-2", "print('again')\n"));
      expect(again.output).toBe("again\n");
      expect(log.lines.filter((l) => String(l.msg).startsWith("warm mode unavailable")).length).toBe(1);
    } finally {
      await executor.close();
      scratch.cleanup();
      rmSync(prefix, { recursive: true, force: true });
    }
  }, 120_000);
});
