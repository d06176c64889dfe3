/**
 * Walking a task's input directory: a bounded tree for the preview and the lookup of the usual task files
 * (train, test, sample submission).
 */
import type { Dirent, Stats } from "node:fs";
import { readdir, stat } from "node:fs/promises";
import { basename, join, relative, sep } from "node:path";
import { DataError } from "../errors.ts";

export interface FileEntry {
  /** Absolute path. */
  path: string;
  /** Path relative to the walked root, with `/` separators. */
  rel: string;
  name: string;
  size: number;
}

export interface DirEntry {
  path: string;
  rel: string;
  name: string;
  dirs: DirEntry[];
  files: FileEntry[];
  /** Files in this directory and below (as far as the walk went). */
  fileCount: number;
  totalSize: number;
  /** True when the walk stopped early somewhere in this directory. */
  partial: boolean;
}

export interface WalkOptions {
  /** Most entries visited in total; the walk stops listing past it (default 20,000). */
  maxEntries?: number;
  /** Deepest directory level entered (default 8). */
  maxDepth?: number;
}

/** Checks that `inputDir` exists, is a directory and is not empty; throws DataError otherwise. */
export async function assertInputDir(inputDir: string): Promise<void> {
  let info: Stats;
  try {
    info = await stat(inputDir);
  } catch (err) {
    throw new DataError(`The input directory ${inputDir} does not exist or cannot be read.`, { cause: err });
  }
  if (!info.isDirectory()) throw new DataError(`The input path ${inputDir} is not a directory.`);
  let names: string[];
  try {
    names = await readdir(inputDir);
  } catch (err) {
    throw new DataError(`The input directory ${inputDir} cannot be read.`, { cause: err });
  }
  if (names.length === 0)
    throw new DataError(`The input directory ${inputDir} is empty: put the task's data files in it.`);
}

/** Walks a directory tree (symlinked directories are not entered). Sizes of unreadable entries count as 0. */
export async function walkDir(root: string, options: WalkOptions = {}): Promise<DirEntry> {
  const maxEntries = options.maxEntries ?? 20_000;
  const maxDepth = options.maxDepth ?? 8;
  let visited = 0;

  const visit = async (dir: string, depth: number): Promise<DirEntry> => {
    const rel = toRel(root, dir);
    const node: DirEntry = {
      path: dir,
      rel,
      name: basename(dir),
      dirs: [],
      files: [],
      fileCount: 0,
      totalSize: 0,
      partial: false,
    };
    let entries: Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      node.partial = true;
      return node;
    }
    entries.sort((a, b) => a.name.localeCompare(b.name));
    for (const entry of entries) {
      if (visited >= maxEntries) {
        node.partial = true;
        break;
      }
      visited++;
      const full = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (depth >= maxDepth) {
          node.partial = true;
          continue;
        }
        const child = await visit(full, depth + 1);
        node.dirs.push(child);
        node.fileCount += child.fileCount;
        node.totalSize += child.totalSize;
        node.partial ||= child.partial;
      } else if (entry.isFile() || entry.isSymbolicLink()) {
        let size = 0;
        try {
          const s = await stat(full);
          if (s.isDirectory()) continue;
          size = s.size;
        } catch {
          // dangling symlink or unreadable: listed with size 0
        }
        node.files.push({ path: full, rel: toRel(root, full), name: entry.name, size });
        node.fileCount++;
        node.totalSize += size;
      }
    }
    return node;
  };

  return visit(root, 0);
}

/** `path` relative to `root`, with `/` separators. */
export function toRel(root: string, path: string): string {
  const rel = relative(root, path);
  return sep === "/" ? rel : rel.split(sep).join("/");
}

/** Every file of a walked tree, depth-first. */
export function allFiles(tree: DirEntry): FileEntry[] {
  const out: FileEntry[] = [];
  const go = (d: DirEntry): void => {
    out.push(...d.files);
    for (const c of d.dirs) go(c);
  };
  go(tree);
  return out;
}

export interface TaskFiles {
  /** Absolute paths; undefined when no such file was found. */
  train?: string;
  test?: string;
  sampleSubmission?: string;
}

export type TaskFileRole = keyof TaskFiles;

const ROLE_PATTERNS: Record<TaskFileRole, RegExp> = {
  sampleSubmission: /^sample[_\- ]?submission.*\.csv$/i,
  train: /^train.*\.csv$/i,
  test: /^test.*\.csv$/i,
};

const EXACT_NAMES: Record<TaskFileRole, string> = {
  sampleSubmission: "sample_submission.csv",
  train: "train.csv",
  test: "test.csv",
};

/** The role a CSV file plays in a task, judged from its name. */
export function roleOf(name: string): TaskFileRole | null {
  for (const role of ["sampleSubmission", "train", "test"] as const) {
    if (ROLE_PATTERNS[role].test(name)) return role;
  }
  return null;
}

/**
 * Picks the train / test / sample-submission CSVs among files: the exact usual name wins, then the
 * shallowest, then the shortest name.
 */
export function pickTaskFiles(files: ReadonlyArray<FileEntry>): TaskFiles {
  const out: TaskFiles = {};
  for (const role of ["train", "test", "sampleSubmission"] as const) {
    const candidates = files.filter((f) => roleOf(f.name) === role);
    candidates.sort((a, b) => {
      const exact =
        Number(b.name.toLowerCase() === EXACT_NAMES[role]) - Number(a.name.toLowerCase() === EXACT_NAMES[role]);
      if (exact !== 0) return exact;
      const depth = a.rel.split("/").length - b.rel.split("/").length;
      if (depth !== 0) return depth;
      return a.name.length - b.name.length || a.rel.localeCompare(b.rel);
    });
    const best = candidates[0];
    if (best) out[role] = best.path;
  }
  return out;
}

/**
 * Finds the task's train, test and sample-submission CSVs anywhere under `inputDir` (names matched
 * case-insensitively: `train*.csv`, `test*.csv`, `sample_submission*.csv`). Missing ones are left out.
 * Throws DataError when `inputDir` is missing or empty.
 */
export async function findTaskFiles(inputDir: string): Promise<TaskFiles> {
  await assertInputDir(inputDir);
  const tree = await walkDir(inputDir);
  return pickTaskFiles(allFiles(tree));
}
