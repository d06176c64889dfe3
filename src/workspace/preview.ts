/**
 * The data preview a coder reads before writing a script: the input directory's file tree and, for the
 * main CSV files, their size, row count and a one-line summary per column. Bounded in characters; wide
 * tables are summarised by groups of similar columns so that the id and target stay visible.
 */
import { open } from "node:fs/promises";
import { extname } from "node:path";
import { DataError } from "../errors.ts";
import {
  describeColumn,
  describeGroup,
  looksLikeIdName,
  nameStem,
  summarizeColumn,
  type ColumnSummary,
} from "./columns.ts";
import { countCsvRecords, readCsvHead } from "./csv.ts";
import { formatBytes } from "../util/bytes.ts";
import { truncate } from "../util/text.ts";
import { allFiles, assertInputDir, pickTaskFiles, walkDir, type DirEntry, type FileEntry } from "./files.ts";
import { taskColumns } from "./task-columns.ts";

export interface DataPreviewOptions {
  /** Most characters in the preview (default 6,000). */
  maxChars?: number;
  /** Most files listed in the tree (default 50). */
  maxFiles?: number;
  /** Data rows per CSV used for the column summaries (default 10,000); rows are still counted in full. */
  sampleRows?: number;
}

export const TRUNCATED_MARKER = "(preview truncated)";

const DEFAULTS = { maxChars: 6000, maxFiles: 50, sampleRows: 10_000 };
/** CSV files summarised at most; others are only listed in the tree. */
const MAX_CSV_FILES = 6;
/** Files listed per directory before "... and N more files". */
const PER_DIR_FILES = 12;
const TEXT_EXTENSIONS = new Set([".txt", ".md", ".json", ".yaml", ".yml", ".jsonl", ".names", ".info"]);
const CSV_EXTENSIONS = new Set([".csv", ".tsv"]);

/**
 * Builds the preview of `inputDir`. Throws DataError when the directory is missing or empty. Unreadable or
 * malformed CSV files are reported in the preview rather than thrown.
 */
export async function buildDataPreview(inputDir: string, opts: DataPreviewOptions = {}): Promise<string> {
  const maxChars = Math.max(200, opts.maxChars ?? DEFAULTS.maxChars);
  const maxFiles = Math.max(1, opts.maxFiles ?? DEFAULTS.maxFiles);
  const sampleRows = Math.max(1, opts.sampleRows ?? DEFAULTS.sampleRows);

  await assertInputDir(inputDir);
  let tree: DirEntry;
  try {
    tree = await walkDir(inputDir);
  } catch (err) {
    throw new DataError(`The input directory ${inputDir} cannot be read.`, { cause: err });
  }
  const files = allFiles(tree);
  if (files.length === 0) throw new DataError(`The input directory ${inputDir} holds no files.`);

  const treeText = renderTreeWithin(tree, maxFiles, Math.floor(maxChars * 0.35));

  // CSV files in order of relevance: train, test, sample submission, then the largest others.
  const csvFiles = files.filter((f) => CSV_EXTENSIONS.has(extname(f.name).toLowerCase()));
  const roles = pickTaskFiles(csvFiles);
  const ordered: FileEntry[] = [];
  for (const p of [roles.train, roles.test, roles.sampleSubmission]) {
    const f = csvFiles.find((c) => c.path === p);
    if (f) ordered.push(f);
  }
  const rest = csvFiles.filter((f) => !ordered.includes(f)).sort((a, b) => b.size - a.size);
  ordered.push(...rest);
  const chosen = ordered.slice(0, MAX_CSV_FILES);
  const skippedCsv = ordered.length - chosen.length;

  const infos: CsvInfo[] = [];
  for (const f of chosen) {
    const role =
      f.path === roles.train
        ? "train"
        : f.path === roles.test
          ? "test"
          : f.path === roles.sampleSubmission
            ? "sample"
            : "other";
    infos.push(await inspectCsv(f, role, sampleRows));
  }
  annotateRelations(infos);

  const parts: string[] = [treeText];
  let used = treeText.length + 2;
  const skippedNote =
    skippedCsv > 0 ? `(${skippedCsv} more CSV file${skippedCsv === 1 ? "" : "s"} not summarised)` : "";
  const csvBudget = maxChars - used - (skippedNote ? skippedNote.length + 2 : 0);
  const budgets = allocate(
    infos.map((i) => renderCsvSection(i, Infinity).length),
    infos.map((i) => (i.role === "train" ? 3 : i.role === "sample" ? 0.7 : 1)),
    Math.max(0, csvBudget - 2 * infos.length),
  );
  infos.forEach((info, i) => {
    const section = renderCsvSection(info, Math.max(160, budgets[i] ?? 0));
    parts.push(section);
    used += section.length + 2;
  });
  if (skippedNote) {
    parts.push(skippedNote);
    used += skippedNote.length + 2;
  }

  // Heads of small text files, while room is left.
  const textFiles = files.filter((f) => TEXT_EXTENSIONS.has(extname(f.name).toLowerCase()) && f.size > 0).slice(0, 3);
  for (const f of textFiles) {
    const room = maxChars - used - 2;
    if (room < 160) break;
    const head = await textHead(f, Math.min(600, room));
    if (head) {
      parts.push(head);
      used += head.length + 2;
    }
  }

  return capText(parts.join("\n\n"), maxChars);
}

/** Cuts `text` to `maxChars` at a line boundary, ending with the truncation marker. */
export function capText(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  const room = maxChars - TRUNCATED_MARKER.length - 1;
  let cut = text.lastIndexOf("\n", room);
  if (cut < room / 2) cut = room;
  return `${text.slice(0, cut)}\n${TRUNCATED_MARKER}`;
}

/**
 * Water-filling: sections that need less than their weighted share get what they need; the others split
 * what is left by weight.
 */
function allocate(needs: number[], weights: number[], total: number): number[] {
  const out = needs.map(() => 0);
  let active = needs.map((_, i) => i);
  let left = total;
  for (;;) {
    const w = active.reduce((a, i) => a + (weights[i] ?? 1), 0);
    if (active.length === 0 || w === 0) break;
    const fits = active.filter((i) => (needs[i] ?? 0) <= (left * (weights[i] ?? 1)) / w);
    if (fits.length === 0) {
      for (const i of active) out[i] = Math.floor((left * (weights[i] ?? 1)) / w);
      break;
    }
    for (const i of fits) {
      out[i] = needs[i] ?? 0;
      left -= needs[i] ?? 0;
    }
    active = active.filter((i) => !fits.includes(i));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// File tree

function renderTreeWithin(tree: DirEntry, maxFiles: number, maxChars: number): string {
  let limit = maxFiles;
  for (;;) {
    const text = renderTree(tree, limit).join("\n");
    if (text.length <= maxChars || limit <= 3) return capText(text, maxChars);
    limit = Math.floor(limit / 2);
  }
}

function renderTree(tree: DirEntry, maxFiles: number): string[] {
  const lines: string[] = [];
  let shown = 0;
  const extSummary = (files: ReadonlyArray<FileEntry>): string => {
    const byExt = new Map<string, number>();
    for (const f of files) {
      const ext = extname(f.name).toLowerCase() || "(no extension)";
      byExt.set(ext, (byExt.get(ext) ?? 0) + 1);
    }
    const top = [...byExt.entries()].sort((a, b) => b[1] - a[1]).slice(0, 3);
    return top.map(([e, n]) => `${n} ${e}`).join(", ") + (byExt.size > 3 ? ", ..." : "");
  };
  const go = (dir: DirEntry, indent: string, isRoot: boolean): void => {
    const label = isRoot ? "input/" : `${dir.name}/`;
    const count = `${dir.fileCount}${dir.partial ? "+" : ""} file${dir.fileCount === 1 ? "" : "s"}`;
    lines.push(`${indent}${label} (${count}, ${formatBytes(dir.totalSize)})`);
    const inner = `${indent}  `;
    const dirs = dir.dirs;
    for (let i = 0; i < dirs.length; i++) {
      if (shown >= maxFiles) {
        const restDirs = dirs.slice(i);
        const restFiles = restDirs.reduce((a, d) => a + d.fileCount, 0);
        lines.push(
          `${inner}... and ${restDirs.length} more director${restDirs.length === 1 ? "y" : "ies"} (${restFiles} files)`,
        );
        break;
      }
      go(dirs[i] as DirEntry, inner, false);
    }
    const files = dir.files;
    const room = Math.max(0, Math.min(PER_DIR_FILES, maxFiles - shown));
    // In a directory of many files, keep the CSVs and text files visible first.
    const important = files.filter(
      (f) => CSV_EXTENSIONS.has(extname(f.name).toLowerCase()) || TEXT_EXTENSIONS.has(extname(f.name).toLowerCase()),
    );
    // A directory of many files shows a few examples of the others, then counts them.
    const listed =
      files.length <= room
        ? files
        : [
            ...important.slice(0, room),
            ...files.filter((f) => !important.includes(f)).slice(0, Math.min(3, Math.max(0, room - important.length))),
          ];
    const listedSet = new Set(listed);
    for (const f of files) {
      if (!listedSet.has(f)) continue;
      lines.push(`${inner}${f.name} (${formatBytes(f.size)})`);
      shown++;
    }
    const hidden = files.filter((f) => !listedSet.has(f));
    if (hidden.length > 0) {
      const more = listed.length === 0 ? `${hidden.length} files` : `... and ${hidden.length} more files`;
      lines.push(`${inner}${more} (${extSummary(hidden)}, ${formatBytes(hidden.reduce((a, f) => a + f.size, 0))})`);
    }
  };
  go(tree, "", true);
  return lines;
}

// ---------------------------------------------------------------------------------------------------------
// CSV sections

type Role = "train" | "test" | "sample" | "other";

interface CsvInfo {
  file: FileEntry;
  role: Role;
  header: string[];
  /** Data rows (the header excluded); null when counting failed. */
  rows: number | null;
  sampled: number;
  summaries: ColumnSummary[];
  /** First data rows as written (sample submission only). */
  firstRows: string[][];
  error?: string;
  /** Lines placed under the section heading (relations to other files). */
  notes: string[];
  /** Column names to keep on their own line whatever the budget. */
  keep: Set<string>;
  /** Likely target columns (train only). */
  targets: Set<string>;
}

async function inspectCsv(file: FileEntry, role: Role, sampleRows: number): Promise<CsvInfo> {
  const info: CsvInfo = {
    file,
    role,
    header: [],
    rows: null,
    sampled: 0,
    summaries: [],
    firstRows: [],
    notes: [],
    keep: new Set(),
    targets: new Set(),
  };
  try {
    const head = await readCsvHead(file.path, sampleRows);
    info.header = head.header.map((h) => h.trim());
    info.sampled = head.rows.length;
    info.firstRows = head.rows.slice(0, 3);
    info.summaries = info.header.map((name, c) =>
      summarizeColumn(
        name,
        head.rows.map((r) => r[c]),
      ),
    );
    info.rows = head.more ? Math.max(0, (await countCsvRecords(file.path)) - 1) : head.rows.length;
  } catch (err) {
    info.error = err instanceof Error ? (err.message.split("\n")[0] ?? String(err)) : String(err);
  }
  for (const s of info.summaries) if (s.kind === "id" || looksLikeIdName(s.name)) info.keep.add(s.name);
  const firstCol = info.header[0];
  if (firstCol !== undefined) info.keep.add(firstCol);
  return info;
}

function annotateRelations(infos: CsvInfo[]): void {
  const train = infos.find((i) => i.role === "train" && !i.error);
  const test = infos.find((i) => i.role === "test" && !i.error);
  const sample = infos.find((i) => i.role === "sample" && !i.error);
  const columns = train
    ? taskColumns({ train: train.header, test: test?.header, sampleSubmission: sample?.header })
    : null;
  const targets = columns?.targets ?? [];
  const notInTest = columns?.notInTest ?? [];
  if (train && test) {
    if (columns?.targetsFrom === "not-in-test" && targets.length <= 10) {
      train.notes.push(
        `Columns not in ${test.file.rel} (likely target${targets.length > 1 ? "s" : ""}): ${targets.join(", ")}`,
      );
    }
    const trainCols = new Set(train.header);
    const extra = test.header.filter((c) => !trainCols.has(c));
    if (extra.length === 0 && test.header.length > 0) {
      test.notes.push(
        notInTest.length > 0
          ? `Same columns as ${train.file.rel} without: ${notInTest.slice(0, 10).join(", ")}${notInTest.length > 10 ? ", ..." : ""}`
          : `Same columns as ${train.file.rel}`,
      );
    } else if (extra.length > 0) {
      test.notes.push(
        `Columns not in ${train.file.rel}: ${extra.slice(0, 10).join(", ")}${extra.length > 10 ? ", ..." : ""}`,
      );
    }
  }
  if (sample) {
    if (train && columns?.targetsFrom === "in-sample")
      train.notes.push(`Likely target${targets.length > 1 ? "s" : ""} (in ${sample.file.rel}): ${targets.join(", ")}`);
    for (const c of sample.header) {
      train?.keep.add(c);
      test?.keep.add(c);
    }
  }
  for (const t of targets) {
    train?.keep.add(t);
    train?.targets.add(t);
  }
}

interface ColumnItem {
  text: string;
  names: string[];
  keep: boolean;
}

function columnItems(info: CsvInfo, grouped: boolean): ColumnItem[] {
  const items: ColumnItem[] = [];
  const tag = (s: ColumnSummary): string => (info.targets.has(s.name) ? " [target?]" : "");
  const single = (s: ColumnSummary): ColumnItem => ({
    text: `- ${s.name}${tag(s)}: ${describeColumn(s)}`,
    names: [s.name],
    keep: info.keep.has(s.name),
  });
  if (!grouped) return info.summaries.map(single);

  const groups = new Map<string, ColumnSummary[]>();
  for (const s of info.summaries) {
    if (info.keep.has(s.name)) continue;
    const key = `${nameStem(s.name)}\u0000${s.kind}`;
    const g = groups.get(key) ?? [];
    g.push(s);
    groups.set(key, g);
  }
  const emitted = new Set<string>();
  for (const s of info.summaries) {
    const key = `${nameStem(s.name)}\u0000${s.kind}`;
    const g = info.keep.has(s.name) ? undefined : groups.get(key);
    if (!g || g.length < 3) {
      items.push(single(s));
      continue;
    }
    if (emitted.has(key)) continue;
    emitted.add(key);
    const firstName = g[0]?.name ?? "";
    const lastName = g[g.length - 1]?.name ?? "";
    items.push({
      text: `- ${firstName} … ${lastName} (${g.length} columns): ${describeGroup(g)}`,
      names: g.map((m) => m.name),
      keep: false,
    });
  }
  return items;
}

function sectionHead(info: CsvInfo): string[] {
  const f = info.file;
  const lines: string[] = [];
  if (info.error) {
    lines.push(`## ${f.rel} (${formatBytes(f.size)}): could not be read as CSV: ${info.error.slice(0, 200)}`);
    return lines;
  }
  const rows = info.rows === null ? "? rows" : `${info.rows.toLocaleString("en-US")} row${info.rows === 1 ? "" : "s"}`;
  lines.push(
    `## ${f.rel}: ${rows} × ${info.header.length} column${info.header.length === 1 ? "" : "s"} (${formatBytes(f.size)})`,
  );
  if (info.rows !== null && info.sampled < info.rows)
    lines.push(`Column stats from the first ${info.sampled.toLocaleString("en-US")} rows.`);
  lines.push(...info.notes);
  if (info.role === "sample") {
    lines.push(`Submission format (header and first rows):`);
    lines.push(`    ${info.header.join(",")}`);
    for (const r of info.firstRows) lines.push(`    ${r.join(",").slice(0, 160)}`);
  }
  return lines;
}

/** Renders one CSV section within `budget` characters, choosing the most detailed form that fits. */
function renderCsvSection(info: CsvInfo, budget: number): string {
  const head = sectionHead(info);
  if (info.error) return capText(head.join("\n"), Math.max(budget, 80));
  const headText = head.join("\n");
  for (const grouped of [false, true]) {
    if (grouped && info.summaries.length < 6) break;
    const items = columnItems(info, grouped);
    const text = [headText, ...items.map((i) => i.text)].join("\n");
    if (text.length <= budget) return text;
  }

  // Still too long: keep the important lines, fill with the others in order, name the rest.
  const items = columnItems(info, info.summaries.length >= 6);
  const reserve = 140;
  let room = budget - headText.length - 1 - reserve;
  const chosen = new Set<number>();
  const tryAdd = (i: number): void => {
    const it = items[i] as ColumnItem;
    if (it.text.length + 1 <= room) {
      chosen.add(i);
      room -= it.text.length + 1;
    }
  };
  items.forEach((it, i) => {
    if (it.keep) tryAdd(i);
  });
  items.forEach((it, i) => {
    if (!it.keep && room > 0) tryAdd(i);
  });
  const lines = [headText];
  const omitted: string[] = [];
  items.forEach((it, i) => {
    if (chosen.has(i)) lines.push(it.text);
    else omitted.push(...it.names);
  });
  if (omitted.length > 0) {
    const prefix = `- ... and ${omitted.length} more column${omitted.length === 1 ? "" : "s"}`;
    const suffix = ` ${TRUNCATED_MARKER}`;
    const nameRoom = Math.max(0, reserve + Math.max(0, room) - prefix.length - suffix.length - 4);
    let names = "";
    for (const n of omitted) {
      const next = names ? `${names}, ${n}` : n;
      if (next.length > nameRoom) {
        names = names ? `${names}, ...` : "";
        break;
      }
      names = next;
    }
    lines.push(`${prefix}${names ? `: ${names}` : ""}${suffix}`);
  }
  return lines.join("\n");
}

// ---------------------------------------------------------------------------------------------------------
// Text files

async function textHead(file: FileEntry, maxChars: number): Promise<string | null> {
  let text: string;
  try {
    const handle = await open(file.path, "r");
    try {
      const buf = Buffer.alloc(Math.min(4096, file.size));
      const { bytesRead } = await handle.read(buf, 0, buf.length, 0);
      if (buf.subarray(0, bytesRead).includes(0)) return null;
      text = buf.subarray(0, bytesRead).toString("utf8");
    } finally {
      await handle.close();
    }
  } catch {
    return null;
  }
  const lines = text
    .replace(/\s+$/, "")
    .split(/\r?\n/)
    .slice(0, 8)
    .map((l) => truncate(l, 160));
  const heading = `## ${file.rel} (first lines)`;
  let body = lines.map((l) => `    ${l}`).join("\n");
  if (heading.length + 1 + body.length > maxChars) body = body.slice(0, Math.max(0, maxChars - heading.length - 2));
  return `${heading}\n${body}`;
}
