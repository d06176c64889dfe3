/**
 * Bad input, part 4: scripts that abuse the sandbox, through the real executors (chosen through
 * runner/executors' public interface, so a warm-interpreter mode behind it is covered too) inside a whole search
 * (executeRun): a fork bomb, a memory hog, filling /tmp, network connections (to services listening on the host,
 * the outside world, DNS), reading the host's files (its secrets, the repository, a file next to the run, another
 * node's files, the Docker socket, other processes' environments) and looking for the runner's secrets in the
 * environment. The runner process holds canary secrets in its environment while the scripts run.
 *
 * Each abusive script reports what it managed (`ABUSE <what> blocked|GOT ...`) and exits 1: its node must be
 * buggy with a readable reason, every attempt must have been blocked, nothing on the host may have been touched
 * or contacted, and the good script that follows must still work (the executor is healthy).
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { networkInterfaces, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../../src/config.ts";
import { silentLogger } from "../../../src/logger.ts";
import { executeRun } from "../../../src/runs/execute.ts";
import type { Coder, Executor, Proposal, Review, ReviewInput, SolutionNode } from "../../../src/search/types.ts";
import { selectExecutor } from "../../../runner/executors/select.ts";
import { RecordingSink } from "../../fakes/search-fakes.ts";
import { DOCKER_SETUP_TIMEOUT_MS, ensureDockerSandbox } from "../../support/docker.ts";
import { tinyTaskFiles, tinyTaskScript } from "./archives.ts";

const REPO = join(import.meta.dirname, "../../..");
const MEMORY_MB = 256;
const CANARIES: Record<string, string> = {
  OPENAI_API_KEY: "sk-AIDECANARY-openai-51f0",
  SLACK_BOT_TOKEN: "xoxb-AIDECANARY-slack-8c2d",
  DISCORD_TOKEN: "AIDECANARY-discord-77aa",
  AWS_SECRET_ACCESS_KEY: "AIDECANARY-aws-3b9e",
};

let root: string;
let inputDir: string;
/** A file on the host next to the runs, that no script may read. */
let hostCanary: string;
/** A TCP server on every host address: no script may reach it. */
let listener: Server;
let listenerPort = 0;
let connections = 0;
const savedEnv: Record<string, string | undefined> = {};

const PRELUDE = `
import glob, os, socket, sys
def attempt(what, fn):
    try:
        got = fn()
        print(f"ABUSE {what} GOT {str(got)[:60]!r}")
    except Exception as e:
        print(f"ABUSE {what} blocked: {type(e).__name__}")
def read(path):
    with open(path, "rb") as f:
        return f.read(200)
`;

function hostAddresses(): string[] {
  const out = new Set(["127.0.0.1"]);
  for (const list of Object.values(networkInterfaces()))
    for (const a of list ?? []) if (a.family === "IPv4") out.add(a.address);
  return [...out];
}

const SCRIPTS: Record<string, () => string> = {
  "fork bomb": () => `${PRELUDE}
import time
n = 0
try:
    for i in range(1500):
        if os.fork() == 0:
            time.sleep(30)
            os._exit(0)
        n += 1
    print("ABUSE forks", n, "GOT all")
except OSError as e:
    print("ABUSE forks", n, f"blocked: {type(e).__name__}")
sys.exit(1)
`,
  "memory hog": () => `${PRELUDE}
hog = []
for i in range(256):
    hog.append(b"\\x01" * (64 << 20))
    print("ABUSE memory GOT", (i + 1) * 64, "MB", flush=True)
sys.exit(1)
`,
  "filling /tmp": () => `${PRELUDE}
chunk = b"x" * (16 << 20)
written = 0
with open("/tmp/fill.bin", "wb") as f:
    for i in range(512):
        f.write(chunk)
        f.flush()
        written += 16
print("ABUSE tmp GOT", written, "MB")
sys.exit(1)
`,
  network: () => `${PRELUDE}
for host in ${JSON.stringify(hostAddresses())}:
    attempt(f"tcp {host}:${listenerPort}", lambda: socket.create_connection((host, ${listenerPort}), timeout=3))
attempt("tcp 1.1.1.1:443", lambda: socket.create_connection(("1.1.1.1", 443), timeout=3))
attempt("dns example.com", lambda: socket.getaddrinfo("example.com", 80))
def udp():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.sendto(b"x", ("8.8.8.8", 53))
    return s.recvfrom(10)
attempt("udp 8.8.8.8:53", udp)
attempt("unix /var/run/docker.sock", lambda: socket.socket(socket.AF_UNIX).connect("/var/run/docker.sock"))
sys.exit(1)
`,
  "host files": () => `${PRELUDE}
for path in ["/etc/shadow", "/root/.ssh", ${JSON.stringify(join(REPO, "package.json"))}, ${JSON.stringify(hostCanary)}, ${JSON.stringify(join(root, "run"))}, "/var/run/docker.sock", "/proc/${process.pid}/environ"]:
    attempt(f"read {path}", lambda: os.listdir(path) if not os.path.isfile(path) else read(path))
attempt("read another node's script", lambda: read("../nodes/0000/solution.py"))
sys.exit(1)
`,
  environment: () => `${PRELUDE}
values = "\\n".join(f"{k}={v}" for k, v in os.environ.items())
found = [p for p in glob.glob("/proc/[0-9]*/environ") + glob.glob("/proc/[0-9]*/cmdline") if b"AIDECANARY" in open(p, "rb").read()]
print("ABUSE env names", sorted(os.environ))
print("ABUSE env", "GOT canary" if "AIDECANARY" in values else "blocked: no canary in os.environ")
print("ABUSE proc", f"GOT canary in {found}" if found else "blocked: no canary in any /proc/N/environ")
sys.exit(1)
`,
  "a good script": tinyTaskScript,
};

/** Proposes the scripts in order, whatever the policy asks; reviews from the run alone. */
class AbusiveCoder implements Coder {
  readonly name = "abusive (test)";
  private next = 0;
  constructor(private readonly order: string[]) {}
  async propose(): Promise<Proposal> {
    const what = this.order[this.next++]!;
    return { plan: what, code: SCRIPTS[what]!(), usage: { promptTokens: 0, completionTokens: 0, costUsd: 0 } };
  }
  async review(input: ReviewInput): Promise<Review> {
    return {
      isBug: input.problems.length > 0,
      summary: input.problems.length ? "The run failed." : "The run worked.",
      metric: null,
      lowerIsBetter: null,
      usage: { promptTokens: 0, completionTokens: 0, costUsd: 0 },
    };
  }
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "aide-rel-scripts-"));
  inputDir = join(root, "input");
  mkdirSync(inputDir);
  for (const [name, data] of Object.entries(tinyTaskFiles())) writeFileSync(join(inputDir, name), data);
  hostCanary = join(root, "host-secret.txt");
  writeFileSync(hostCanary, "AIDECANARY host file\n");
  listener = createServer((s) => {
    connections++;
    s.destroy();
  });
  await new Promise<void>((r) => listener.listen(0, "0.0.0.0", r));
  listenerPort = (listener.address() as { port: number }).port;
  for (const [k, v] of Object.entries(CANARIES)) {
    savedEnv[k] = process.env[k];
    process.env[k] = v;
  }
});

afterAll(async () => {
  for (const [k, v] of Object.entries(savedEnv)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  await new Promise<void>((r) => listener.close(() => r()));
  rmSync(root, { recursive: true, force: true });
});

const ORDER = Object.keys(SCRIPTS);

async function search(executor: Executor, label: string): Promise<readonly SolutionNode[]> {
  const runDir = join(root, "run", label);
  const config = loadConfig({
    env: {},
    overrides: { search: { steps: ORDER.length, parallel: 1 }, execution: { timeoutSec: 60, memoryMb: MEMORY_MB } },
  });
  const sink = new RecordingSink();
  const result = await executeRun({
    runId: `abuse-${label}`,
    task: "Predict y. Metric: accuracy.",
    inputDir,
    runDir,
    config,
    coder: new AbusiveCoder(ORDER),
    executor,
    sink,
    logger: silentLogger,
  });
  expect(sink.events.at(-1)?.type).toBe("run.finished");
  return result.journal.nodes;
}

function attempts(node: SolutionNode): string[] {
  return node.output.split("\n").filter((l) => l.startsWith("ABUSE "));
}

function checkNodes(nodes: readonly SolutionNode[]): void {
  if (process.env.AIDE_SHOW_ABUSE)
    for (const n of nodes) console.info(`[${n.plan}] ${n.analysis}\n${attempts(n).join("\n")}`);
  expect(nodes.map((n) => n.plan)).toEqual(ORDER);
  const by = Object.fromEntries(nodes.map((n) => [n.plan, n]));
  for (const what of ORDER.slice(0, -1)) {
    const n = by[what]!;
    expect(n.buggy, what).toBe(true);
    expect(n.analysis, what).toMatch(
      /Problem: the script (exited with code 1|ran out of memory \(limit 256 MB\) and was killed)/,
    );
  }
  // Fork bomb: stopped by the pids limit long before 1500 processes.
  const forks = /ABUSE forks (\d+) blocked: (BlockingIOError|OSError)/.exec(by["fork bomb"]!.output);
  expect(forks, by["fork bomb"]!.output).not.toBeNull();
  expect(Number(forks![1])).toBeLessThan(1500);
  // Memory: killed at the limit, said so.
  expect(by["memory hog"]!.analysis).toMatch(/ran out of memory \(limit 256 MB\)/);
  expect(by["memory hog"]!.output).not.toMatch(/GOT (2[5-9]\d|[3-9]\d\d|\d{4,}) MB/);
  // /tmp is memory: the same limit stops it.
  expect(by["filling /tmp"]!.output).not.toMatch(/ABUSE tmp GOT/);
  expect(by["filling /tmp"]!.analysis).toMatch(/ran out of memory|exited with code 1/);
  // Network, host files, environment: every attempt blocked.
  for (const what of ["network", "host files", "environment"]) {
    const lines = attempts(by[what]!);
    expect(lines.length, what).toBeGreaterThan(2);
    expect(
      lines.filter((l) => / GOT /.test(l) && !l.startsWith("ABUSE env names")),
      `${what}:\n${lines.join("\n")}`,
    ).toEqual([]);
  }
  const names = /ABUSE env names \[(.*)\]/.exec(by.environment!.output)?.[1] ?? "";
  expect(names).toContain("'PATH'");
  expect(names).not.toMatch(/TOKEN|SECRET|KEY|OPENAI|SLACK|DISCORD|AWS|REDIS|MONGO/);
  // The good script after all that: a working node.
  const good = by["a good script"]!;
  expect(good.buggy, good.analysis).toBe(false);
  expect(good.metric?.name).toBe("accuracy");
  expect(connections).toBe(0);
}

describe("abusive scripts in the bubblewrap sandbox", () => {
  it("each is stopped or finds nothing, its node is buggy with a reason, and the next script runs", async () => {
    const nodes = await search(await selectExecutor("sandbox", { logger: silentLogger }), "sandbox");
    checkNodes(nodes);
    expect(readdirSync(root).sort()).toEqual(["host-secret.txt", "input", "run"]);
  }, 240_000);
});

describe("abusive scripts in Docker", () => {
  beforeAll(async () => {
    await ensureDockerSandbox();
  }, DOCKER_SETUP_TIMEOUT_MS);

  it("each is stopped or finds nothing, its node is buggy with a reason, and the next script runs", async () => {
    const config = loadConfig({ env: {} });
    const executor = await selectExecutor("docker", {
      dockerImage: config.execution.dockerImage,
      cpus: 1,
      logger: silentLogger,
    });
    const nodes = await search(executor, "docker");
    checkNodes(nodes);
  }, 240_000);
});
