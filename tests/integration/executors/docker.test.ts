/**
 * The Docker executor against a real Docker daemon and the real sandbox image. The setup starts the
 * daemon and builds the image when needed (tests/support/docker.ts).
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import Dockerode from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ExecutorError } from "../../../src/errors.ts";
import { silentLogger } from "../../../src/logger.ts";
import { DockerExecutor, DockerStreamDemuxer, NODE_LABEL, OWNER_LABEL } from "../../../runner/executors/docker.ts";
import { DOCKER_SETUP_TIMEOUT_MS, ensureDockerSandbox } from "../../support/docker.ts";
import { ALLOWED_ENV, ENV_DUMP, makeScratch, parseEnvDump, type Scratch } from "./helpers.ts";

const docker = new Dockerode();

/** Containers this test process created for a node (running or not). */
async function containersOf(nodeId: number): Promise<Dockerode.ContainerInfo[]> {
  return docker.listContainers({ all: true, filters: { label: [`${NODE_LABEL}=${nodeId}`, `${OWNER_LABEL}=${process.pid}`] } });
}

describe("DockerStreamDemuxer", () => {
  const frame = (type: number, text: string | Buffer): Buffer => {
    const payload = typeof text === "string" ? Buffer.from(text) : text;
    const header = Buffer.alloc(8);
    header.writeUInt8(type, 0);
    header.writeUInt32BE(payload.length, 4);
    return Buffer.concat([header, payload]);
  };

  it("merges frames in order across chunk boundaries and split UTF-8 characters", () => {
    const seen: string[] = [];
    const demux = new DockerStreamDemuxer((text, stream) => seen.push(`${stream}:${text}`));
    const euro = Buffer.from("€"); // 3 bytes, split over two frames
    const all = Buffer.concat([frame(1, "a\n"), frame(2, "err\n"), frame(1, euro.subarray(0, 1)), frame(1, Buffer.concat([euro.subarray(1), Buffer.from("\n")]))]);
    for (let i = 0; i < all.length; i += 3) demux.push(all.subarray(i, i + 3));
    demux.end();
    expect(seen).toEqual(["stdout:a\n", "stderr:err\n", "stdout:€\n"]);
  });
});

describe("DockerExecutor (real Docker daemon)", () => {
  let scratch: Scratch;
  let image = "aide-sandbox:latest";
  let executor: DockerExecutor;

  beforeAll(async () => {
    image = (await ensureDockerSandbox()).image;
    executor = new DockerExecutor({ logger: silentLogger, image });
    scratch = makeScratch("aide-docker-test");
  }, DOCKER_SETUP_TIMEOUT_MS);
  afterAll(() => scratch?.cleanup());

  it("passes its own check and names the image", async () => {
    expect(await DockerExecutor.check({ image })).toEqual({ ok: true });
    expect(executor.name).toBe(`docker (${image})`);
  });

  it("reads ./input, writes ./working/submission.csv, keeps input and the image read-only, merges output in order", async () => {
    const code = `
import sys, os
import pandas as pd
df = pd.read_csv("./input/train.csv")
df[["id"]].assign(y=0).to_csv("./working/submission.csv", index=False)
print("A-stdout")
print("B-stderr", file=sys.stderr)
print("C-stdout")
for path in ["./input/evil.txt", "./solution.py", "./train.csv", "/usr/evil.txt"]:
    try:
        open(path, "w").write("x")
        print("WRITABLE", path)
    except OSError as e:
        print("write failed:", path, e.errno)
open("/tmp/scratch.txt", "w").write("tmp ok")
print("tmp", open("/tmp/scratch.txt").read())
print("cwd", os.getcwd(), "rows", len(df))
`;
    const job = scratch.job("io", code);
    const r = await executor.run(job);
    expect(r.exitCode, r.output).toBe(0);
    expect(r.signal).toBeNull();
    expect(r.timedOut).toBe(false);
    expect(r.outOfMemory).toBe(false);
    expect(r.output).toContain("A-stdout\nB-stderr\nC-stdout\n");
    expect(r.output).toContain("write failed: ./input/evil.txt 30"); // EROFS
    expect(r.output).toContain("write failed: ./solution.py 30");
    expect(r.output).toContain("write failed: ./train.csv 30");
    expect(r.output).toContain("write failed: /usr/evil.txt 30");
    expect(r.output).not.toContain("WRITABLE");
    expect(r.output).toContain("tmp tmp ok");
    expect(r.output).toContain("cwd /workspace rows 3");
    expect(r.workingDir).toBe(join(job.nodeDir, "working"));
    expect(readFileSync(join(r.workingDir, "submission.csv"), "utf8")).toBe("id,y\n1,0\n2,0\n3,0\n");
    expect(statSync(join(r.workingDir, "submission.csv")).uid).toBe(1000);
    expect(readFileSync(join(job.nodeDir, "solution.py"), "utf8")).toBe(code);
    expect(existsSync(join(scratch.inputDir, "evil.txt"))).toBe(false);
    expect(await containersOf(job.nodeId)).toEqual([]);
  });

  it("runs as a non-root user without capabilities or new privileges", async () => {
    const code = `
import os
print("uid", os.getuid(), os.geteuid(), "gid", os.getgid())
status = dict(line.split(":\\t", 1) for line in open("/proc/self/status").read().splitlines() if ":\\t" in line)
print("CapEff", status["CapEff"].strip(), "NoNewPrivs", status["NoNewPrivs"].strip())
`;
    const r = await executor.run(scratch.job("user", code));
    expect(r.exitCode, r.output).toBe(0);
    expect(r.output).toContain("uid 1000 1000 gid 1000");
    expect(r.output).toContain("CapEff 0000000000000000 NoNewPrivs 1");
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
      await new Promise<void>((resolve) => server.listen(0, "0.0.0.0", resolve));
      const address = server.address();
      port = typeof address === "object" && address ? address.port : 0;
    });
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

    it("has no interface but lo and cannot reach the internet, the host, or DNS", async () => {
      const code = `
import os, socket
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
except OSError as e:
    print("dns failed")
`;
      const r = await executor.run(scratch.job("net", code, { timeoutMs: 30_000 }));
      expect(r.exitCode, r.output).toBe(0);
      expect(r.output).toContain("interfaces ['lo']");
      expect(r.output).not.toContain("CONNECTED");
      expect(r.output).not.toContain("DNS-RESOLVED");
      expect(r.output).toContain("blocked 1.1.1.1 80");
      expect(r.output).toContain(`blocked 127.0.0.1 ${port}`);
      expect(connections).toBe(0);
    });
  });

  it("interrupts a script at the time limit with a KeyboardInterrupt traceback, and removes the container", async () => {
    const job = scratch.job("loop", "print('looping')\nwhile True:\n    pass\n", { timeoutMs: 1500 });
    const started = Date.now();
    const r = await executor.run(job);
    const elapsed = Date.now() - started;
    expect(r.timedOut).toBe(true);
    expect(r.outOfMemory).toBe(false);
    expect(r.signal).toBe("SIGINT");
    expect(r.output).toContain("looping");
    expect(r.output).toContain("KeyboardInterrupt");
    expect(r.output).toContain("Traceback");
    expect(elapsed).toBeLessThan(6000);
    expect(r.durationMs).toBeGreaterThanOrEqual(1400);
    expect(await containersOf(job.nodeId)).toEqual([]);
  });

  it("kills a script that ignores SIGINT, and its children, after the grace period", async () => {
    const code = `
import signal, subprocess, sys, time
signal.signal(signal.SIGINT, signal.SIG_IGN)
child = subprocess.Popen([sys.executable, "-c", "import signal, time; signal.signal(signal.SIGINT, signal.SIG_IGN); time.sleep(600)"])
print("child started", child.pid, flush=True)
while True:
    time.sleep(0.1)
`;
    const quick = new DockerExecutor({ logger: silentLogger, image, graceMs: 1000 });
    const job = scratch.job("stubborn", code, { timeoutMs: 2000 });
    const started = Date.now();
    const r = await quick.run(job);
    const elapsed = Date.now() - started;
    expect(r.timedOut).toBe(true);
    expect(r.signal).toBe("SIGKILL");
    expect(r.outOfMemory).toBe(false);
    expect(r.output).toContain("child started");
    expect(elapsed).toBeGreaterThanOrEqual(2900);
    expect(elapsed).toBeLessThan(8000);
    // The child lived in the container's pid namespace: it is gone with the container.
    expect(await containersOf(job.nodeId)).toEqual([]);
  });

  it("stops a run when the abort signal fires", async () => {
    const controller = new AbortController();
    const started = Date.now();
    setTimeout(() => controller.abort(), 1500);
    const job = scratch.job("abort", "import time\nprint('working', flush=True)\nwhile True:\n    time.sleep(0.05)\n", { timeoutMs: 60_000 });
    const r = await executor.run(job, controller.signal);
    expect(Date.now() - started).toBeLessThan(6000);
    expect(r.timedOut).toBe(false);
    expect(r.signal).toBe("SIGINT");
    expect(r.output).toContain("working");
    expect(r.output).toContain("KeyboardInterrupt");
    expect(await containersOf(job.nodeId)).toEqual([]);
  });

  it("refuses to start when already aborted, creating no container", async () => {
    const controller = new AbortController();
    controller.abort();
    const job = scratch.job("pre-aborted", "print(1)");
    await expect(executor.run(job, controller.signal)).rejects.toThrow();
    expect(await containersOf(job.nodeId)).toEqual([]);
  });

  it("reports running out of memory (1.5 GB allocated under a 256 MB limit)", async () => {
    const code = `
chunks = []
for i in range(24):
    chunks.append(bytearray(64 * 1024 * 1024))  # touches every page
    print("allocated MB", (i + 1) * 64, flush=True)
print("SURVIVED")
`;
    const job = scratch.job("oom", code, { memoryMb: 256, timeoutMs: 60_000 });
    const r = await executor.run(job);
    expect(r.output).not.toContain("SURVIVED");
    expect(r.timedOut).toBe(false);
    expect(r.outOfMemory, r.output).toBe(true);
    expect(r.exitCode === 0).toBe(false);
    expect(await containersOf(job.nodeId)).toEqual([]);
  });

  it("caps the number of processes and threads", async () => {
    const code = `
import threading, time
ev = threading.Event()
started = 0
try:
    for i in range(500):
        threading.Thread(target=ev.wait, daemon=True).start()
        started += 1
    print("STARTED-ALL")
except RuntimeError as e:
    print("thread limit hit after", started)
ev.set()
`;
    const capped = new DockerExecutor({ logger: silentLogger, image, pidsLimit: 64 });
    const r = await capped.run(scratch.job("pids", code));
    expect(r.output).not.toContain("STARTED-ALL");
    expect(r.output).toContain("thread limit hit after");
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
    const small = new DockerExecutor({ logger: silentLogger, image, outputCeiling: 3_000_000 });
    const job = scratch.job("flood", "import sys\nwhile True:\n    sys.stdout.write('y' * 10000)\n", { outputCap: 10_000 });
    const started = Date.now();
    const r = await small.run(job);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(r.signal).toBe("SIGKILL");
    expect(r.outOfMemory).toBe(false);
    expect(r.outputCapped).toBe(true);
    expect(r.output.length).toBeLessThan(10_000 + 400);
    expect(r.output).toContain("output exceeded");
    expect(await containersOf(job.nodeId)).toEqual([]);
  });

  it("does not let the host's environment (secrets) into the container", async () => {
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
      // A fresh client, created while the secret is set, must not pass it on either.
      const fresh = new DockerExecutor({ logger: silentLogger, image });
      const r = await fresh.run(scratch.job("env", code));
      expect(r.exitCode, r.output).toBe(0);
      expect(r.output).not.toContain("sk-test-secret");
      expect(r.output).toContain("LEAKS []");
      const env = parseEnvDump(r.output);
      expect(env.OPENAI_API_KEY).toBeUndefined();
      // Docker itself adds HOSTNAME.
      for (const key of Object.keys(env)) expect(ALLOWED_ENV.has(key) || key === "HOSTNAME", `unexpected variable ${key}`).toBe(true);
      expect(env.PYTHONUNBUFFERED).toBe("1");
      expect(env.PYTHONDONTWRITEBYTECODE).toBe("1");
      expect(env.HOME).toBe("/tmp");
      expect(env.OMP_NUM_THREADS).toMatch(/^\d+$/);
    } finally {
      if (before === undefined) delete process.env.OPENAI_API_KEY;
      else process.env.OPENAI_API_KEY = before;
    }
  });

  it("runs a normal sklearn fit", async () => {
    const code = `
import numpy as np, pandas as pd, scipy
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
  }, 150_000);

  it("throws a clear ExecutorError when the image is missing", async () => {
    const missing = "aide-sandbox-missing:never-built";
    const broken = new DockerExecutor({ logger: silentLogger, image: missing });
    const job = scratch.job("noimage", "print(1)");
    const err = await broken.run(job).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ExecutorError);
    expect((err as ExecutorError).userMessage).toBe(
      `sandbox image ${missing} not found; build it with runner/image/build-image.sh`,
    );
    expect(await containersOf(job.nodeId)).toEqual([]);
    const report = await DockerExecutor.check({ image: missing });
    expect(report.ok).toBe(false);
    expect(report.reason).toMatch(/not found; build it with runner\/image\/build-image\.sh/);
  });

  it("throws a clear ExecutorError when the daemon does not answer", async () => {
    const nowhere = new Dockerode({ socketPath: "/nonexistent/docker.sock" });
    const broken = new DockerExecutor({ logger: silentLogger, image, docker: nowhere });
    const err = await broken.run(scratch.job("nodaemon", "print(1)")).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ExecutorError);
    expect((err as ExecutorError).userMessage).toMatch(
      /^Docker daemon not reachable at unix:\/\/\/nonexistent\/docker\.sock; start it .*or use the sandbox executor/,
    );
    const report = await DockerExecutor.check({ docker: nowhere, image });
    expect(report.ok).toBe(false);
    expect(report.reason).toMatch(/Docker daemon not reachable/);
  });

  it("leaves no container of this test process behind", async () => {
    const left = await docker.listContainers({ all: true, filters: { label: [`${OWNER_LABEL}=${process.pid}`] } });
    expect(left).toEqual([]);
  });
});
