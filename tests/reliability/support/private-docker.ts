/**
 * A Docker daemon of the test's own, to restart while a run uses it (the machine's shared daemon at
 * /var/run/docker.sock is never touched: other people's tests use it). It has its own socket, data root, exec root
 * and pid file, and the flags that leave the host's iptables and IP forwarding alone. Its data root is kept between
 * test runs under /var/tmp, so the sandbox image (copied from the shared daemon with `docker save | docker load`,
 * about half a minute) is loaded once per machine and again only when the shared image changes.
 */
import { execFile, spawn } from "node:child_process";
import { existsSync, mkdirSync, openSync, closeSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { pidAlive } from "../../../src/services/process-utils.ts";
import { WORK_ROOT } from "./deployment.ts";

const run = promisify(execFile);

export interface PrivateDocker {
  /** DOCKER_HOST for clients: unix://<socket>. */
  readonly host: string;
  readonly pid: number;
  /** SIGTERM, wait for the exit (the daemon stops its containers), start again on the same socket and data. */
  restart(downMs?: number): Promise<void>;
  stop(): Promise<void>;
}

const ROOT = join(WORK_ROOT, "dockerd");
const SOCKET = join(ROOT, "docker.sock");
/** DOCKER_HOST of the private daemon (fixed, so workers can be configured before it starts). */
export const PRIVATE_DOCKER_HOST = `unix://${SOCKET}`;
const PIDFILE = join(ROOT, "docker.pid");
// containerd's sockets live under the exec root: keep its path short (unix sockets are limited to 108 bytes).
const EXEC_ROOT = "/var/tmp/aide-rel-dx";

function readPid(): number | null {
  if (!existsSync(PIDFILE)) return null;
  const pid = Number.parseInt(readFileSync(PIDFILE, "utf8").trim(), 10);
  return Number.isFinite(pid) && pid > 0 && pidAlive(pid) ? pid : null;
}

async function docker(host: string | null, args: string[], timeoutMs = 30_000): Promise<string> {
  const env = { ...process.env };
  if (host) env.DOCKER_HOST = host;
  else delete env.DOCKER_HOST;
  const { stdout } = await run("docker", args, { env, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 });
  return stdout.trim();
}

async function answers(host: string): Promise<boolean> {
  try {
    await docker(host, ["info", "--format", "{{.ServerVersion}}"], 5_000);
    return true;
  } catch {
    return false;
  }
}

async function waitUntil(check: () => Promise<boolean> | boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function startDaemon(host: string): Promise<number> {
  mkdirSync(ROOT, { recursive: true });
  mkdirSync(EXEC_ROOT, { recursive: true });
  rmSync(SOCKET, { force: true });
  const log = openSync(join(ROOT, "dockerd.log"), "a");
  const child = spawn(
    "dockerd",
    [
      "--iptables=false",
      "--ip-forward=false",
      "--bridge=none",
      "-H",
      host,
      "--data-root",
      join(ROOT, "data"),
      "--exec-root",
      EXEC_ROOT,
      "--pidfile",
      PIDFILE,
    ],
    { detached: true, stdio: ["ignore", log, log] },
  );
  closeSync(log);
  child.unref();
  await waitUntil(
    () => answers(host),
    60_000,
    `the private dockerd to answer at ${host} (log: ${join(ROOT, "dockerd.log")})`,
  );
  return child.pid!;
}

async function stopDaemon(pid: number): Promise<void> {
  if (!pidAlive(pid)) return;
  process.kill(pid, "SIGTERM");
  await waitUntil(() => !pidAlive(pid), 60_000, `the private dockerd (pid ${pid}) to exit`);
}

/** The sandbox image's id on a daemon, or null when it has none. */
async function imageId(host: string | null, image: string): Promise<string | null> {
  try {
    return await docker(host, ["image", "inspect", "--format", "{{.Id}}", image]);
  } catch {
    return null;
  }
}

/** Starts (or reuses) the private daemon and makes sure it has the shared daemon's sandbox image. */
export async function startPrivateDocker(image = "aide-sandbox:latest"): Promise<PrivateDocker> {
  const host = PRIVATE_DOCKER_HOST;
  let pid = readPid();
  if (pid === null || !(await answers(host))) {
    if (pid !== null) await stopDaemon(pid);
    pid = await startDaemon(host);
  }
  const wanted = await imageId(null, image);
  if (!wanted) throw new Error(`the shared Docker daemon has no ${image}; build it with runner/image/build-image.sh`);
  if ((await imageId(host, image)) !== wanted) {
    await run(
      "bash",
      ["-o", "pipefail", "-c", `env -u DOCKER_HOST docker save ${image} | DOCKER_HOST=${host} docker load`],
      { timeout: 10 * 60_000 },
    );
  }
  let current = pid;
  return {
    host,
    get pid() {
      return current;
    },
    async restart(downMs = 0) {
      await stopDaemon(current);
      await new Promise((r) => setTimeout(r, downMs));
      current = await startDaemon(host);
    },
    async stop() {
      await stopDaemon(current);
    },
  };
}
