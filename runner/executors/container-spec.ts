/**
 * The one container a script runs in, for a cold script and for a warm interpreter alike: no network
 * (network mode "none"), a memory limit without swap, CPU and pids caps, a read-only root filesystem with a
 * tmpfs /tmp, no capabilities, no-new-privileges, the image's non-root `sandbox` user (1000:1000), docker-init
 * as pid 1, the task input read-only at ./input and the node's working/ writable at ./working, cwd /workspace
 * and the clean environment; labelled with the creating process. Also how the working directory is made
 * writable for that user, and how a container is removed whatever state it is in.
 */
import { chmod, chown } from "node:fs/promises";
import type Dockerode from "dockerode";
import type { Logger } from "../../src/logger.ts";
import { sleep } from "../../src/util/sleep.ts";
import { cleanEnv, fileSizeBytes, WORKSPACE } from "./workspace.ts";

/** uid:gid scripts run as; the image's `sandbox` user. */
export const SANDBOX_UID = 1000;
export const SANDBOX_GID = 1000;
/** Label set on every script container; its value is the node id. */
export const NODE_LABEL = "aide.node";
/** Label set on every container this process creates; its value is the host pid of the creator. */
export const OWNER_LABEL = "aide.owner-pid";
/** Label on warm containers; its value is the creating process's pid. */
export const WARM_LABEL = "aide.warm";
const CONTAINER_HOME = "/tmp";
const REMOVE_ATTEMPTS = 20;

/** The variables a script in a container sees, with thread caps for `cpus`. */
export function containerEnv(cpus: number): Record<string, string> {
  return cleanEnv(CONTAINER_HOME, Math.ceil(cpus));
}

export interface ContainerSpec {
  image: string;
  cmd: string[];
  /** CPUs (NanoCpus); also sets the thread caps. */
  cpus: number;
  memoryMb: number;
  pidsLimit: number;
  fileSizeMb: number;
  /** Run docker-init as pid 1 (forwards signals, reaps zombies). */
  init: boolean;
  /** Host directory bound read-only at ./input. */
  inputDir: string;
  /** Host directory bound read-write at ./working. */
  workingDir: string;
  /** Host directory bound read-only at /workspace itself, under ./input and ./working. */
  workspaceDir?: string;
  /** More binds, as `host:container:mode`. */
  extraBinds?: string[];
  /** Labels besides the owner's. */
  labels: Record<string, string>;
  /** The daemon removes the container once its main process ends. */
  autoRemove: boolean;
}

/** Create options for a script's container. */
export function containerCreateOptions(spec: ContainerSpec): Dockerode.ContainerCreateOptions {
  const memoryBytes = Math.max(6, Math.floor(spec.memoryMb)) * 1024 * 1024;
  const fileBytes = fileSizeBytes(spec.fileSizeMb);
  return {
    Image: spec.image,
    Cmd: spec.cmd,
    WorkingDir: WORKSPACE,
    User: `${SANDBOX_UID}:${SANDBOX_GID}`,
    Env: Object.entries(containerEnv(spec.cpus)).map(([k, v]) => `${k}=${v}`),
    Hostname: "aide-sandbox",
    NetworkDisabled: true,
    AttachStdin: false,
    AttachStdout: true,
    AttachStderr: true,
    OpenStdin: false,
    Tty: false,
    Labels: { ...spec.labels, [OWNER_LABEL]: String(process.pid) },
    HostConfig: {
      NetworkMode: "none",
      Memory: memoryBytes,
      MemorySwap: memoryBytes,
      NanoCpus: Math.round(spec.cpus * 1e9),
      PidsLimit: spec.pidsLimit,
      ReadonlyRootfs: true,
      Tmpfs: { "/tmp": `rw,nosuid,nodev,size=${Math.max(16, Math.floor(spec.memoryMb))}m,mode=1777` },
      ShmSize: Math.min(Math.floor(memoryBytes / 2), 1024 * 1024 * 1024),
      CapDrop: ["ALL"],
      SecurityOpt: ["no-new-privileges"],
      Init: spec.init,
      Ulimits: [
        { Name: "core", Soft: 0, Hard: 0 },
        { Name: "fsize", Soft: fileBytes, Hard: fileBytes },
      ],
      Binds: [
        ...(spec.workspaceDir ? [`${spec.workspaceDir}:${WORKSPACE}:ro`] : []),
        `${spec.inputDir}:${WORKSPACE}/input:ro`,
        `${spec.workingDir}:${WORKSPACE}/working:rw`,
        ...(spec.extraBinds ?? []),
      ],
      // Output is read from the attach stream; nothing is kept on the daemon's disk.
      LogConfig: { Type: "none", Config: {} },
      AutoRemove: spec.autoRemove,
      Privileged: false,
    },
  };
}

/** The working directory must be writable by the sandbox user (uid 1000), whoever runs this process. */
export async function makeWritableForSandbox(dir: string): Promise<void> {
  try {
    await chown(dir, SANDBOX_UID, SANDBOX_GID);
    await chmod(dir, 0o755);
  } catch {
    // Not root (e.g. a member of the docker group): let anyone write, as a shared scratch dir would.
    await chmod(dir, 0o777);
  }
}

/** The HTTP status of a daemon's error answer, if it is one. */
export function statusCode(err: unknown): number | undefined {
  const code = (err as { statusCode?: unknown } | null)?.statusCode;
  return typeof code === "number" ? code : undefined;
}

/** The daemon did not answer a ping in time. */
export class PingTimeout extends Error {}

/** A failure to talk to the daemon at all (as opposed to an HTTP error from it). */
export function isUnreachable(err: unknown): boolean {
  if (statusCode(err) !== undefined) return false;
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return (
    err instanceof PingTimeout ||
    [
      "ENOENT",
      "ECONNREFUSED",
      "ECONNRESET",
      "EACCES",
      "EPERM",
      "ETIMEDOUT",
      "EHOSTUNREACH",
      "ENOTFOUND",
      "EAI_AGAIN",
      "EPIPE",
    ].includes(code ?? "")
  );
}

/** Removes the container (killing it if it still runs). Retries briefly; never throws. */
export async function removeContainer(container: Dockerode.Container, logger: Logger): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await container.remove({ force: true, v: true });
      return;
    } catch (err) {
      if (statusCode(err) === 404) return; // already gone
      // 409: removal already in progress; anything else may be transient.
      if (attempt >= REMOVE_ATTEMPTS || isUnreachable(err)) {
        logger.warn({ err, container: container.id.slice(0, 12) }, "could not remove a script container");
        return;
      }
      await sleep(100 * Math.min(attempt + 1, 5));
    }
  }
}
