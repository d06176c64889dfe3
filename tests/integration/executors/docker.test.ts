/**
 * What is particular to the Docker executor, against a real Docker daemon and the real sandbox image (the
 * setup starts the daemon and builds the image when needed: tests/support/docker.ts). What every executor
 * must do is in contract.test.ts; here: the frame demuxer, the container's own settings (one spec for the
 * cold and the warm path: read-only root, non-root user, no capabilities, pids cap), that every container is
 * removed whatever the end, and the daemon's and image's errors.
 */
import { statSync } from "node:fs";
import { join } from "node:path";
import Dockerode from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ExecutorError } from "../../../src/errors.ts";
import { silentLogger } from "../../../src/logger.ts";
import { containerCreateOptions, type ContainerSpec } from "../../../runner/executors/container-spec.ts";
import { DockerExecutor, DockerStreamDemuxer, NODE_LABEL, OWNER_LABEL } from "../../../runner/executors/docker.ts";
import { DOCKER_SETUP_TIMEOUT_MS, ensureDockerSandbox } from "../../support/docker.ts";
import { makeScratch, type Scratch } from "./helpers.ts";

const docker = new Dockerode();

/** Containers this test process created for a node (running or not). */
async function containersOf(nodeId: number): Promise<Dockerode.ContainerInfo[]> {
  return docker.listContainers({
    all: true,
    filters: { label: [`${NODE_LABEL}=${nodeId}`, `${OWNER_LABEL}=${process.pid}`] },
  });
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
    const all = Buffer.concat([
      frame(1, "a\n"),
      frame(2, "err\n"),
      frame(1, euro.subarray(0, 1)),
      frame(1, Buffer.concat([euro.subarray(1), Buffer.from("\n")])),
    ]);
    for (let i = 0; i < all.length; i += 3) demux.push(all.subarray(i, i + 3));
    demux.end();
    expect(seen).toEqual(["stdout:a\n", "stderr:err\n", "stdout:€\n"]);
  });
});

describe("containerCreateOptions", () => {
  it("gives a cold script and a warm interpreter the same isolation and limits", () => {
    const base: ContainerSpec = {
      image: "img",
      cmd: ["python3"],
      cpus: 2,
      memoryMb: 512,
      pidsLimit: 64,
      fileSizeMb: 10,
      init: true,
      inputDir: "/host/input",
      workingDir: "/host/node/working",
      labels: {},
      autoRemove: false,
    };
    const cold = containerCreateOptions({
      ...base,
      extraBinds: ["/host/node/solution.py:/workspace/solution.py:ro"],
      labels: { [NODE_LABEL]: "7" },
    });
    const warm = containerCreateOptions({
      ...base,
      workspaceDir: "/host/ws",
      extraBinds: ["/tmp/ctl:/aide-ctl:rw"],
      autoRemove: true,
    });
    for (const o of [cold, warm]) {
      expect(o.User).toBe("1000:1000");
      expect(o.WorkingDir).toBe("/workspace");
      expect(o.NetworkDisabled).toBe(true);
      expect(o.Labels?.[OWNER_LABEL]).toBe(String(process.pid));
      expect(o.Env).toContain("HOME=/tmp");
      expect(o.Env).toContain("OMP_NUM_THREADS=2");
      expect(o.HostConfig).toMatchObject({
        NetworkMode: "none",
        Memory: 512 * 1024 * 1024,
        MemorySwap: 512 * 1024 * 1024,
        NanoCpus: 2e9,
        PidsLimit: 64,
        ReadonlyRootfs: true,
        CapDrop: ["ALL"],
        SecurityOpt: ["no-new-privileges"],
        Privileged: false,
        Init: true,
        Ulimits: [
          { Name: "core", Soft: 0, Hard: 0 },
          { Name: "fsize", Soft: 10 * 1024 * 1024, Hard: 10 * 1024 * 1024 },
        ],
      });
      expect(o.HostConfig?.Binds).toEqual(
        expect.arrayContaining(["/host/input:/workspace/input:ro", "/host/node/working:/workspace/working:rw"]),
      );
    }
    expect(cold.Labels?.[NODE_LABEL]).toBe("7");
    expect(warm.HostConfig?.Binds?.[0]).toBe("/host/ws:/workspace:ro");
    expect(warm.HostConfig?.AutoRemove).toBe(true);
  });
});

describe.each([
  { path: "cold", warm: false },
  { path: "warm", warm: true },
])("DockerExecutor, $path path (real Docker daemon)", ({ warm }) => {
  let scratch: Scratch;
  let image = "aide-sandbox:latest";
  let executor: DockerExecutor;
  const run = async (ex: DockerExecutor, name: string, code: string) => {
    const job = scratch.job(name, code);
    await ex.prepareRun({ inputDir: job.inputDir, runDir: scratch.root, memoryMb: job.memoryMb });
    return { job, r: await ex.run(job) };
  };

  beforeAll(async () => {
    image = (await ensureDockerSandbox()).image;
    executor = new DockerExecutor({ logger: silentLogger, image, warm });
    scratch = makeScratch(`aide-docker-${warm ? "warm" : "cold"}`);
  }, DOCKER_SETUP_TIMEOUT_MS);
  afterAll(async () => {
    await executor?.close();
    scratch?.cleanup();
  });

  it("runs as the non-root sandbox user without capabilities or new privileges, on a read-only root with a private /tmp", async () => {
    const code = `
import os, sys
print("warm", "pandas" in sys.modules)
print("uid", os.getuid(), os.geteuid(), "gid", os.getgid())
status = dict(line.split(":\\t", 1) for line in open("/proc/self/status").read().splitlines() if ":\\t" in line)
print("CapEff", status["CapEff"].strip(), "NoNewPrivs", status["NoNewPrivs"].strip())
for path in ["./solution.py", "./train.csv", "/usr/evil.txt"]:
    try:
        open(path, "w").write("x")
        print("WRITABLE", path)
    except OSError as e:
        print("write failed:", path, e.errno)
open("/tmp/scratch.txt", "w").write("tmp ok")
print("tmp", open("/tmp/scratch.txt").read())
open("./working/out.txt", "w").write("x")
`;
    const { r } = await run(executor, "user", code);
    expect(r.exitCode, r.output).toBe(0);
    expect(r.output).toContain(`warm ${warm ? "True" : "False"}`);
    expect(r.output).toContain("uid 1000 1000 gid 1000");
    expect(r.output).toContain("CapEff 0000000000000000 NoNewPrivs 1");
    expect(r.output).toContain("write failed: ./solution.py 30"); // EROFS
    expect(r.output).toContain("write failed: ./train.csv 30");
    expect(r.output).toContain("write failed: /usr/evil.txt 30");
    expect(r.output).not.toContain("WRITABLE");
    expect(r.output).toContain("tmp tmp ok");
    expect(statSync(join(r.workingDir, "out.txt")).uid).toBe(1000);
  }, 120_000);

  it("caps the number of processes and threads", async () => {
    const code = `
import threading
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
    const capped = new DockerExecutor({ logger: silentLogger, image, warm, pidsLimit: 64 });
    try {
      const { r } = await run(capped, "pids", code);
      expect(r.output).not.toContain("STARTED-ALL");
      expect(r.output).toContain("thread limit hit after");
    } finally {
      await capped.close();
    }
  }, 120_000);
});

describe("DockerExecutor (real Docker daemon)", () => {
  let scratch: Scratch;
  let image = "aide-sandbox:latest";
  let executor: DockerExecutor;

  beforeAll(async () => {
    image = (await ensureDockerSandbox()).image;
    executor = new DockerExecutor({ logger: silentLogger, image, graceMs: 1000, outputCeiling: 3_000_000 });
    scratch = makeScratch("aide-docker-test");
  }, DOCKER_SETUP_TIMEOUT_MS);
  afterAll(() => scratch?.cleanup());

  it("passes its own check and names the image", async () => {
    expect(await DockerExecutor.check({ image })).toEqual({ ok: true });
    expect(executor.name).toBe(`docker (${image})`);
  });

  it("removes the script's container however the script ends", async () => {
    const ends: Array<[string, string, Partial<Parameters<Scratch["job"]>[2]>, (() => AbortSignal)?]> = [
      ["ok", "print(1)", {}],
      [
        "timeout",
        "import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\ntime.sleep(60)\n",
        { timeoutMs: 1000 },
      ],
      ["flood", "import sys\nwhile True:\n    sys.stdout.write('y' * 10000)\n", { outputCap: 10_000 }],
      ["oom", "x = bytearray(1024 * 1024 * 1024)\n", { memoryMb: 256 }],
      ["abort", "import time\ntime.sleep(60)\n", {}, () => AbortSignal.timeout(1000)],
    ];
    for (const [name, code, over, signal] of ends) {
      const job = scratch.job(name, code, over);
      const r = await executor.run(job, signal?.());
      expect(r.exitCode === 0, `${name}: ${r.output}`).toBe(name === "ok");
      expect(await containersOf(job.nodeId), name).toEqual([]);
    }
    const aborted = new AbortController();
    aborted.abort();
    const job = scratch.job("pre-aborted", "print(1)");
    await expect(executor.run(job, aborted.signal)).rejects.toThrow();
    expect(await containersOf(job.nodeId)).toEqual([]);
  }, 120_000);

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
