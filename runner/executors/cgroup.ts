/**
 * Per-job control groups for the memory and pids limits. Works with cgroup v1 (a `memory` and a `pids`
 * hierarchy) and, best effort, with cgroup v2. A job's groups are created as children of the groups this
 * process already belongs to, so limits set on the parent (a container, a systemd slice) still apply.
 * When nothing is writable (not root, read-only /sys/fs/cgroup, v2 without delegation) `createJobCgroup`
 * returns null and the caller falls back to rlimits.
 */
import { randomBytes } from "node:crypto";
import { mkdir, readdir, readFile, rmdir, writeFile } from "node:fs/promises";
import { join, relative } from "node:path";
import type { Logger } from "../../src/logger.ts";
import { pidAlive } from "../../src/services/process-utils.ts";
import { sleep } from "../../src/util/sleep.ts";

export interface CgroupLimits {
  memoryBytes: number;
  /** Maximum number of processes/threads in the job; 0 leaves it unlimited. */
  pidsMax: number;
}

export interface JobCgroup {
  readonly version: 1 | 2;
  /** `cgroup.procs` files a process must write its pid into to join the job. */
  readonly procsFiles: string[];
  readonly limitsMemory: boolean;
  readonly limitsPids: boolean;
  /** True when the kernel's OOM killer fired inside the job. */
  oomKilled(): Promise<boolean>;
  /** How many times the kernel's OOM killer fired inside the job (failures to allocate where no counter exists). */
  oomKills(): Promise<number>;
  /** Pids (in this process's pid namespace) still in the job. */
  pids(): Promise<number[]>;
  /** Kills what is left and removes the groups. Never throws. */
  destroy(): Promise<void>;
}

interface Hierarchy {
  /** Host directory of this process's own group in the hierarchy. */
  ownDir: string;
}

interface Layout {
  v1Memory: Hierarchy | null;
  v1Pids: Hierarchy | null;
  v2: Hierarchy | null;
}

let layoutPromise: Promise<Layout> | null = null;
let seq = 0;

/** Reads /proc/self/mountinfo and /proc/self/cgroup once per process. */
function detectLayout(): Promise<Layout> {
  layoutPromise ??= (async (): Promise<Layout> => {
    const layout: Layout = { v1Memory: null, v1Pids: null, v2: null };
    let mountinfo: string;
    let membership: string;
    try {
      mountinfo = await readFile("/proc/self/mountinfo", "utf8");
      membership = await readFile("/proc/self/cgroup", "utf8");
    } catch {
      return layout;
    }
    // hierarchy-id:controllers:path
    const ownPaths = new Map<string, string>();
    for (const line of membership.split("\n")) {
      const m = /^(\d+):([^:]*):(.*)$/.exec(line);
      if (!m) continue;
      const controllers = m[2] ?? "";
      const path = m[3] ?? "/";
      if (m[1] === "0" && controllers === "") ownPaths.set("<v2>", path);
      for (const c of controllers.split(",")) if (c) ownPaths.set(c, path);
    }
    for (const line of mountinfo.split("\n")) {
      const sep = line.indexOf(" - ");
      if (sep < 0) continue;
      const left = line.slice(0, sep).split(" ");
      const right = line.slice(sep + 3).split(" ");
      const fstype = right[0];
      const root = unescapeMount(left[3] ?? "/");
      const mountPoint = unescapeMount(left[4] ?? "");
      if (fstype === "cgroup") {
        const opts = (right[2] ?? "").split(",");
        for (const controller of ["memory", "pids"] as const) {
          if (!opts.includes(controller)) continue;
          const own = ownPaths.get(controller);
          if (own === undefined) continue;
          const h = { ownDir: hostDir(mountPoint, root, own) };
          if (controller === "memory") layout.v1Memory ??= h;
          else layout.v1Pids ??= h;
        }
      } else if (fstype === "cgroup2") {
        const own = ownPaths.get("<v2>");
        if (own !== undefined && layout.v2 === null) layout.v2 = { ownDir: hostDir(mountPoint, root, own) };
      }
    }
    return layout;
  })();
  return layoutPromise;
}

function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** Host directory of cgroup `path` in a hierarchy mounted at `mountPoint` with mount root `root`. */
function hostDir(mountPoint: string, root: string, path: string): string {
  const rel = root === "/" ? path : relative(root, path);
  return join(mountPoint, rel.startsWith("..") ? "/" : rel);
}

async function readNumber(file: string, pattern?: RegExp): Promise<number | null> {
  try {
    const text = await readFile(file, "utf8");
    const m = pattern ? pattern.exec(text) : /^\s*(\d+)/.exec(text);
    return m?.[1] !== undefined ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

async function readPids(file: string): Promise<number[]> {
  try {
    return (await readFile(file, "utf8"))
      .split("\n")
      .filter(Boolean)
      .map(Number)
      .filter((n) => Number.isInteger(n) && n > 0);
  } catch {
    return [];
  }
}

async function tryWrite(file: string, value: string): Promise<boolean> {
  try {
    await writeFile(file, value);
    return true;
  } catch {
    return false;
  }
}

function killAll(pids: number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
}

/** Removes cgroup directories, killing stragglers and retrying while the kernel still counts them busy. */
async function removeDirs(dirs: string[], logger: Logger): Promise<void> {
  for (const dir of dirs) {
    for (let attempt = 0; ; attempt++) {
      killAll(await readPids(join(dir, "cgroup.procs")));
      try {
        await rmdir(dir);
        break;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === "ENOENT") break;
        if (attempt >= 50) {
          logger.warn({ dir, err }, "could not remove a job cgroup");
          break;
        }
        await sleep(20);
      }
    }
  }
}

let warnedUnavailable = false;
const swept = new Set<string>();

/**
 * Removes job groups left behind by executor processes that died without cleaning up (their
 * sandboxes die with them, so the groups are empty). Once per parent directory and process.
 */
async function sweepStale(parent: string, logger: Logger): Promise<void> {
  if (swept.has(parent)) return;
  swept.add(parent);
  let names: string[];
  try {
    names = await readdir(parent);
  } catch {
    return;
  }
  for (const name of names) {
    const m = /^aide-job-(\d+)-/.exec(name);
    if (!m || Number(m[1]) === process.pid || pidAlive(Number(m[1]))) continue;
    try {
      await rmdir(join(parent, name)); // fails, harmlessly, if something still runs in it
      logger.debug({ dir: join(parent, name) }, "removed a stale job cgroup");
    } catch {
      // busy or not ours to remove
    }
  }
}

/**
 * Creates the job's groups with the limits applied, or returns null when no memory controller can be
 * used here. The caller must make the job's first process join (write its pid to `procsFiles`) before it
 * allocates anything, and call `destroy()` afterwards.
 */
export async function createJobCgroup(limits: CgroupLimits, logger: Logger): Promise<JobCgroup | null> {
  const layout = await detectLayout();
  const name = `aide-job-${process.pid}-${++seq}-${randomBytes(3).toString("hex")}`;
  for (const h of [layout.v1Memory, layout.v1Pids, layout.v2]) if (h) await sweepStale(h.ownDir, logger);
  let cg: JobCgroup | null = null;
  if (layout.v1Memory) cg = await createV1(layout.v1Memory, layout.v1Pids, name, limits, logger);
  if (!cg && layout.v2) cg = await createV2(layout.v2, name, limits, logger);
  if (!cg && !warnedUnavailable) {
    warnedUnavailable = true;
    logger.info("no writable cgroup memory controller; falling back to rlimits (RLIMIT_AS) for memory");
  }
  return cg;
}

async function createV1(
  memory: Hierarchy,
  pids: Hierarchy | null,
  name: string,
  limits: CgroupLimits,
  logger: Logger,
): Promise<JobCgroup | null> {
  const memDir = join(memory.ownDir, name);
  try {
    await mkdir(memDir);
  } catch (err) {
    logger.debug({ err, dir: memDir }, "cannot create a v1 memory cgroup");
    return null;
  }
  const bytes = String(limits.memoryBytes);
  if (!(await tryWrite(join(memDir, "memory.limit_in_bytes"), bytes))) {
    await removeDirs([memDir], logger);
    return null;
  }
  // Without swap accounting these files are missing; the limit above still holds for RAM.
  await tryWrite(join(memDir, "memory.memsw.limit_in_bytes"), bytes);
  await tryWrite(join(memDir, "memory.swappiness"), "0");

  const dirs = [memDir];
  let pidsDir: string | null = null;
  if (pids && limits.pidsMax > 0) {
    const dir = join(pids.ownDir, name);
    try {
      await mkdir(dir);
      dirs.push(dir);
      if (await tryWrite(join(dir, "pids.max"), String(limits.pidsMax))) pidsDir = dir;
    } catch (err) {
      logger.debug({ err, dir }, "cannot create a v1 pids cgroup");
    }
  }
  const procsFiles = [join(memDir, "cgroup.procs"), ...(pidsDir ? [join(pidsDir, "cgroup.procs")] : [])];
  const oomKills = async (): Promise<number> => {
    const kills = await readNumber(join(memDir, "memory.oom_control"), /oom_kill (\d+)/);
    if (kills !== null) return kills;
    // Old kernels have no counter: hitting the limit is the best sign left.
    return (await readNumber(join(memDir, "memory.failcnt"))) ?? 0;
  };
  return {
    version: 1,
    procsFiles,
    limitsMemory: true,
    limitsPids: pidsDir !== null,
    oomKilled: async () => (await oomKills()) > 0,
    oomKills,
    async pids() {
      const all = new Set<number>();
      for (const f of procsFiles) for (const p of await readPids(f)) all.add(p);
      return [...all];
    },
    destroy: () => removeDirs(dirs, logger),
  };
}

async function createV2(own: Hierarchy, name: string, limits: CgroupLimits, logger: Logger): Promise<JobCgroup | null> {
  const control = join(own.ownDir, "cgroup.subtree_control");
  let enabled: string[];
  try {
    enabled = (await readFile(control, "utf8")).trim().split(/\s+/);
  } catch {
    return null;
  }
  // Enabling controllers for children fails (EBUSY) when our own group holds processes and is not the
  // root; then there is nothing to do but fall back.
  if (!enabled.includes("memory") && !(await tryWrite(control, "+memory"))) return null;
  if (limits.pidsMax > 0 && !enabled.includes("pids")) await tryWrite(control, "+pids");
  const dir = join(own.ownDir, name);
  try {
    await mkdir(dir);
  } catch (err) {
    logger.debug({ err, dir }, "cannot create a v2 cgroup");
    return null;
  }
  if (!(await tryWrite(join(dir, "memory.max"), String(limits.memoryBytes)))) {
    await removeDirs([dir], logger);
    return null;
  }
  await tryWrite(join(dir, "memory.swap.max"), "0");
  const limitsPids = limits.pidsMax > 0 && (await tryWrite(join(dir, "pids.max"), String(limits.pidsMax)));
  const procs = join(dir, "cgroup.procs");
  const oomKills = async (): Promise<number> => (await readNumber(join(dir, "memory.events"), /oom_kill (\d+)/)) ?? 0;
  return {
    version: 2,
    procsFiles: [procs],
    limitsMemory: true,
    limitsPids,
    oomKilled: async () => (await oomKills()) > 0,
    oomKills,
    pids: () => readPids(procs),
    async destroy() {
      await tryWrite(join(dir, "cgroup.kill"), "1");
      await removeDirs([dir], logger);
    },
  };
}
