/**
 * The one bubblewrap sandbox a script runs in, for a cold script and for a warm interpreter alike: new user,
 * pid, net, ipc, uts and cgroup namespaces (no network beyond an empty loopback), no capabilities, a read-only
 * view of the system, a private /tmp with HOME in it, the task input read-only at ./input and the node's
 * working/ writable at ./working, cwd /workspace, the root remounted read-only and the clean environment.
 */
import { lstat, readdir, readlink, realpath } from "node:fs/promises";
import { dirname } from "node:path";
import { SANDBOX_HOME, WORKSPACE } from "./workspace.ts";

/** What the sandbox needs on this machine, found once per executor. */
export interface Prepared {
  bwrap: string;
  python: string;
  systemArgs: string[];
  supportsSize: boolean;
}

function under(path: string, dirs: string[]): boolean {
  return dirs.some((d) => path === d || path.startsWith(`${d}/`));
}

/**
 * Read-only views of the host the interpreter needs: /usr, the merged-/usr symlinks (or real dirs on
 * older layouts), a few /etc files (BLAS alternatives, the dynamic loader's cache, time zone, fonts,
 * Python's and matplotlib's config), and the interpreter's own prefix when it lives outside /usr (a venv
 * or pyenv build).
 */
export async function systemArgs(python: string): Promise<string[]> {
  const args = ["--ro-bind", "/usr", "/usr"];
  for (const top of ["/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"]) {
    try {
      const st = await lstat(top);
      if (st.isSymbolicLink()) args.push("--symlink", await readlink(top), top);
      else if (st.isDirectory()) args.push("--ro-bind", top, top);
    } catch {
      // not on this system
    }
  }
  const etc = [
    "/etc/alternatives",
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d",
    "/etc/localtime",
    "/etc/fonts",
    "/etc/matplotlibrc",
    "/etc/passwd",
    "/etc/group",
    "/etc/nsswitch.conf",
  ];
  try {
    for (const name of await readdir("/etc")) if (/^python3/.test(name)) etc.push(`/etc/${name}`);
  } catch {
    // no /etc listing; the fixed list is enough
  }
  for (const path of etc) args.push("--ro-bind-try", path, path);

  const system = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"];
  const prefixes = new Set<string>();
  for (const p of [python, await realpath(python)]) {
    if (!under(p, system)) prefixes.add(dirname(dirname(p)));
  }
  for (const prefix of prefixes) args.push("--ro-bind", prefix, prefix);
  return args;
}

/** The bwrap arguments around the interpreter, excluding the job's own mounts. */
export function sandboxArgs(p: Prepared, memoryBytes: number | null): string[] {
  const args = [
    "--unshare-all",
    "--die-with-parent",
    "--cap-drop",
    "ALL",
    "--hostname",
    "aide-sandbox",
    ...p.systemArgs,
    "--proc",
    "/proc",
    "--dev",
    "/dev",
  ];
  if (p.supportsSize && memoryBytes !== null) args.push("--size", String(memoryBytes));
  args.push("--tmpfs", "/tmp", "--dir", SANDBOX_HOME);
  return args;
}

export interface BwrapSpec {
  /** The sandbox's size limit for its tmpfs mounts (where bubblewrap has --size), or null. */
  memoryBytes: number | null;
  /** Host directory bound read-only at /workspace; without it /workspace is an empty tmpfs, read-only once bound into. */
  workspaceDir?: string;
  /** Host directory bound read-only at ./input. */
  inputDir: string;
  /** Host directory bound read-write at ./working. */
  workingDir: string;
  /** More bwrap mount arguments. */
  extraMounts: string[];
  /** The whole environment of the command (nothing else is passed on). */
  env: Record<string, string>;
  /** What runs inside: the interpreter and its arguments. */
  command: string[];
}

/** The bwrap arguments that run `spec.command` in the sandbox. */
export function bwrapArgs(p: Prepared, spec: BwrapSpec): string[] {
  return [
    ...sandboxArgs(p, spec.memoryBytes),
    ...(spec.workspaceDir ? ["--ro-bind", spec.workspaceDir, WORKSPACE] : ["--tmpfs", WORKSPACE]),
    "--ro-bind",
    spec.inputDir,
    `${WORKSPACE}/input`,
    "--bind",
    spec.workingDir,
    `${WORKSPACE}/working`,
    ...spec.extraMounts,
    ...(spec.workspaceDir ? [] : ["--remount-ro", WORKSPACE]),
    "--remount-ro",
    "/",
    "--chdir",
    WORKSPACE,
    "--clearenv",
    ...Object.entries(spec.env).flatMap(([k, v]) => ["--setenv", k, v]),
    ...spec.command,
  ];
}
