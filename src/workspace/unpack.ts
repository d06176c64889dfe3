/**
 * Unpacking one downloaded (or attached) data file into a directory, defensively.
 *
 * Formats, detected by magic bytes first and the file name second: zip (yauzl, streamed entry by entry),
 * tar and tar.gz (node-tar's Parser; we write the entries ourselves), a gzipped single file, and plain data
 * files (csv, tsv, txt, json, parquet...) which are copied or moved as they are.
 *
 * Guards: entry names are validated (no absolute paths, no `..`, no control characters, bounded length and
 * depth) and the resolved path must stay inside the directory; symbolic links, hard links and device files
 * are skipped with a note (never created, so never followed); the number of entries and files is bounded;
 * the uncompressed size is bounded on the declared sizes *and* on the bytes actually written (archives that
 * lie in their headers are caught); a compression ratio limit catches bombs early; nested archives are
 * left as files. macOS junk (`__MACOSX/`, `.DS_Store`, `._*`) is skipped. Everything is first extracted into
 * a staging directory inside destDir, then moved into place (refusing name collisions), so a failed unpack
 * leaves destDir as it was. Every failure is a DataError.
 */
import { createReadStream, createWriteStream, constants as fsConstants } from "node:fs";
import { copyFile, type FileHandle, mkdir, mkdtemp, open, readdir, realpath, rename, rm, stat } from "node:fs/promises";
import { basename, dirname, join, resolve, sep } from "node:path";
import { once } from "node:events";
import type { Readable } from "node:stream";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { pipeline as pipelineCb } from "node:stream";
import { constants as zlibConstants, createGunzip, gunzipSync } from "node:zlib";
import yauzl from "yauzl";
import { Parser, type ReadEntry } from "tar";
import { DataError } from "../errors.ts";
import type { Logger } from "../logger.ts";
import { formatBytes } from "../util/bytes.ts";
import { exists } from "../util/files.ts";
import { hasControlCharacter, replaceControlCharacters, truncate } from "../util/text.ts";
import { sanitizeFilename } from "./fetch.ts";

export interface UnpackLimits {
  /** Most files written. */
  maxFiles: number;
  /** Most bytes written (uncompressed). */
  maxTotalBytes: number;
  /** Highest uncompressed/compressed ratio tolerated once an entry (zip) or the stream (tar.gz, gz) is past 16 MB. */
  maxRatio?: number;
}

export const DEFAULT_UNPACK_LIMITS = {
  maxFiles: 50_000,
  maxTotalBytes: 2 * 1024 * 1024 * 1024,
  maxRatio: 200,
} as const;

/** Below this many uncompressed bytes the ratio limit does not apply (small, very regular files compress a lot). */
export const RATIO_GRACE_BYTES = 16 * 1024 * 1024;

export interface UnpackOptions {
  /** Name used in messages and for a single data file (default: the archive's file name). */
  name?: string;
  /** When the archive holds a single top-level folder, put its content directly in destDir (default true). */
  flattenSingleFolder?: boolean;
  /** Move a single data file instead of copying it (for temporary downloads; default false). */
  move?: boolean;
  /** Files and bytes already used by earlier data sets, counted against the same limits. */
  used?: { files: number; bytes: number };
  logger?: Logger;
}

export type ArchiveKind = "zip" | "tar" | "tar.gz" | "gzip" | "file";

export interface UnpackResult {
  kind: ArchiveKind;
  /** Files written, relative to destDir, with `/` separators, sorted. */
  files: string[];
  bytes: number;
  /** Entries deliberately not extracted, each with the reason (links, device files...). Junk is not listed. */
  skipped: string[];
  /** The single top-level folder that was flattened away, or null. */
  flattened: string | null;
}

/** Binary data files kept as they are (by extension). */
const BINARY_DATA_EXTENSIONS = new Set([".parquet", ".feather", ".arrow", ".npy", ".npz", ".xlsx", ".xls"]);
/** Zip-based formats that are data files, not archives to expand. */
const ZIP_BASED_DATA = new Set([".npz", ".xlsx"]);

const MAX_NAME_BYTES = 255;
const MAX_DEPTH = 64;

function extOf(name: string): string {
  const m = /(\.[A-Za-z0-9]{1,10})$/.exec(name);
  return m ? m[1]!.toLowerCase() : "";
}

/** An entry name made printable for messages (control characters replaced, length bounded). */
function printable(name: string): string {
  const s = replaceControlCharacters(name, "?");
  return truncate(s, 200, "...");
}

// ---------------------------------------------------------------------------------------------------------
// Detection

function isTarHeader(block: Buffer): boolean {
  if (block.length < 512) return false;
  if (block.subarray(0, 512).every((b) => b === 0)) return false;
  const field = block
    .subarray(148, 156)
    .toString("latin1")
    .replace(/[\0 ]+/g, " ")
    .trim();
  if (!/^[0-7]+$/.test(field)) return false;
  const expected = parseInt(field, 8);
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < 512; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : block[i]!;
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  return expected === unsigned || expected === signed;
}

function startsWith(buf: Buffer, bytes: number[]): boolean {
  return bytes.every((b, i) => buf[i] === b);
}

function looksLikeHtml(head: Buffer): boolean {
  const text = head
    .subarray(0, 512)
    .toString("utf8")
    .replace(/^\uFEFF/, "")
    .trimStart()
    .toLowerCase();
  return text.startsWith("<!doctype html") || text.startsWith("<html") || text.startsWith("<head");
}

function looksLikeText(head: Buffer): boolean {
  if (head.length === 0) return true;
  // UTF-16 text (Excel's "Unicode text") carries a byte order mark and NUL bytes.
  if (startsWith(head, [0xff, 0xfe]) || startsWith(head, [0xfe, 0xff])) return true;
  let control = 0;
  for (const b of head) {
    if (b === 0) return false;
    if (b < 0x09 || (b > 0x0d && b < 0x20 && b !== 0x1b)) control++;
  }
  return control / head.length < 0.01;
}

async function readHead(path: string, n: number): Promise<{ head: Buffer; size: number }> {
  const fh = await open(path, "r");
  try {
    const { size } = await fh.stat();
    const buf = Buffer.alloc(Math.min(n, size));
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    return { head: buf.subarray(0, bytesRead), size };
  } finally {
    await fh.close();
  }
}

const UNSUPPORTED: Array<{ magic: number[]; what: string }> = [
  { magic: [0x42, 0x5a, 0x68], what: "a bzip2 file" },
  { magic: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], what: "an xz file" },
  { magic: [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c], what: "a 7z archive" },
  { magic: [0x52, 0x61, 0x72, 0x21, 0x1a, 0x07], what: "a rar archive" },
  { magic: [0x28, 0xb5, 0x2f, 0xfd], what: "a zstd file" },
];

/** Decides what a file is; throws a DataError for formats that cannot be used. */
export async function detectKind(path: string, name: string): Promise<ArchiveKind> {
  const { head, size } = await readHead(path, 4096);
  const ext = extOf(name);
  const lower = name.toLowerCase();
  if (size === 0) throw new DataError(`${name} is empty.`);
  if (
    startsWith(head, [0x50, 0x4b, 0x03, 0x04]) ||
    startsWith(head, [0x50, 0x4b, 0x05, 0x06]) ||
    startsWith(head, [0x50, 0x4b, 0x07, 0x08])
  ) {
    return ZIP_BASED_DATA.has(ext) ? "file" : "zip";
  }
  if (startsWith(head, [0x1f, 0x8b])) {
    let inner: Buffer;
    try {
      inner = gunzipSync(head, { finishFlush: zlibConstants.Z_SYNC_FLUSH });
    } catch (err) {
      throw new DataError(`${name}: the gzip data is damaged or truncated.`, { cause: err });
    }
    if (isTarHeader(inner)) return "tar.gz";
    const tarName = lower.endsWith(".tar.gz") || lower.endsWith(".tgz");
    if (tarName && inner.length >= 512 && inner.subarray(0, 512).every((b) => b === 0)) return "tar.gz";
    return "gzip";
  }
  if (isTarHeader(head)) return "tar";
  for (const u of UNSUPPORTED) {
    if (startsWith(head, u.magic))
      throw new DataError(`${name} is ${u.what}, which is not supported: please share a zip, tar.gz or csv file.`);
  }
  if (startsWith(head, [0x50, 0x41, 0x52, 0x31]) || startsWith(head, [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]))
    return "file";
  if (looksLikeHtml(head)) {
    throw new DataError(`${name} is a web page, not a data file: use a direct download link.`);
  }
  if (BINARY_DATA_EXTENSIONS.has(ext)) return "file";
  if (looksLikeText(head)) {
    // Text under a name promising an archive (an error message, a "file not found" page in plain text) is
    // refused rather than placed in input/ as a data file named data.zip.
    const archiveName = /\.(zip|tar|tgz|gz|gzip)$/.exec(lower);
    if (archiveName) {
      const what =
        archiveName[1] === "zip" ? "a zip archive" : archiveName[1] === "tar" ? "a tar archive" : "gzip data";
      throw new DataError(`${name} is named like ${what} but holds text: check the link or the file.`);
    }
    return "file";
  }
  throw new DataError(`${name} is not a zip, tar or csv file.`);
}

// ---------------------------------------------------------------------------------------------------------
// Extraction state and guards

/**
 * Gives a stream a no-op 'error' listener. Errors still reach whoever consumes it (pipeline looks at the
 * stream's state), but an error emitted while nothing is attached yet, or late after a pipeline has settled
 * (yauzl and zlib can emit more than one), can no longer crash the process.
 */
function quiet<T extends NodeJS.EventEmitter>(stream: T): T {
  stream.on("error", () => undefined);
  return stream;
}

interface Target {
  rel: string;
  abs: string;
}

class Extraction {
  readonly files: string[] = [];
  readonly skipped: string[] = [];
  bytes = 0;
  private entries = 0;
  /** Files admitted so far (written or being written). */
  private admitted = 0;
  private readonly maxRatio: number;
  private readonly maxEntries: number;

  constructor(
    readonly root: string,
    readonly limits: UnpackLimits,
    readonly label: string,
    readonly used: { files: number; bytes: number },
  ) {
    this.maxRatio = limits.maxRatio ?? DEFAULT_UNPACK_LIMITS.maxRatio;
    this.maxEntries = limits.maxFiles + Math.max(1000, limits.maxFiles);
  }

  fail(problem: string, cause?: unknown): never {
    throw new DataError(`${this.label}: ${problem}.`, cause === undefined ? undefined : { cause });
  }

  tooBig(): never {
    this.fail(`archive expands beyond the ${formatBytes(this.limits.maxTotalBytes)} limit`);
  }

  checkEntryCount(count: number): void {
    if (count > this.maxEntries) this.fail(`archive holds more than ${this.maxEntries} entries`);
  }

  countEntry(): void {
    this.entries++;
    this.checkEntryCount(this.entries);
  }

  /** Validates an entry name; returns null for entries to skip silently (junk, the root itself). */
  targetFor(raw: string): Target | null {
    const shown = printable(raw);
    if (hasControlCharacter(raw)) this.fail(`archive entry ${shown} has an invalid name`);
    const norm = raw.replace(/\\/g, "/");
    if (norm.startsWith("/") || /^[A-Za-z]:/.test(norm))
      this.fail(`archive entry ${shown} escapes the data directory (absolute path)`);
    const parts: string[] = [];
    for (const p of norm.split("/")) {
      if (p === "" || p === ".") continue;
      if (p === "..") this.fail(`archive entry ${shown} escapes the data directory`);
      if (Buffer.byteLength(p) > MAX_NAME_BYTES)
        this.fail(`archive entry ${shown} has a name longer than ${MAX_NAME_BYTES} bytes`);
      parts.push(p);
    }
    if (parts.length === 0) return null;
    if (parts.length > MAX_DEPTH) this.fail(`archive entry ${shown} is nested more than ${MAX_DEPTH} folders deep`);
    const last = parts[parts.length - 1]!;
    if (parts.includes("__MACOSX") || last === ".DS_Store" || last.startsWith("._") || last === "Thumbs.db")
      return null;
    const abs = resolve(this.root, ...parts);
    if (!abs.startsWith(this.root + sep)) this.fail(`archive entry ${shown} escapes the data directory`);
    return { rel: parts.join("/"), abs };
  }

  /** Counts one more file and checks the declared size against what is left of the budget. */
  admitFile(rel: string, declaredSize: number, compressedSize: number | null): void {
    this.admitted++;
    if (this.used.files + this.admitted > this.limits.maxFiles) {
      this.fail(`archive holds more than ${this.limits.maxFiles} files`);
    }
    if (this.used.bytes + this.bytes + declaredSize > this.limits.maxTotalBytes) this.tooBig();
    if (
      compressedSize !== null &&
      declaredSize > RATIO_GRACE_BYTES &&
      declaredSize / Math.max(compressedSize, 1) > this.maxRatio
    ) {
      this.bomb(rel);
    }
  }

  bomb(rel: string): never {
    this.fail(`archive entry ${printable(rel)} expands more than ${this.maxRatio} times (a zip bomb?)`);
  }

  /**
   * A pass-through that counts the bytes actually written. Fails past the total budget, and past the ratio
   * limit relative to `compressedSize` (zip entries) or to `compressedSoFar()` (whole compressed streams).
   */
  counter(rel: string, compressedSize: number | null): Transform {
    let entryBytes = 0;
    return quiet(
      new Transform({
        transform: (chunk: Buffer, _enc, cb) => {
          entryBytes += chunk.length;
          this.bytes += chunk.length;
          try {
            if (this.used.bytes + this.bytes > this.limits.maxTotalBytes) this.tooBig();
            if (
              compressedSize !== null &&
              entryBytes > RATIO_GRACE_BYTES &&
              entryBytes / Math.max(compressedSize, 1) > this.maxRatio
            ) {
              this.bomb(rel);
            }
          } catch (err) {
            cb(err as Error);
            return;
          }
          cb(null, chunk);
        },
      }),
    );
  }

  /** Counts a decompressed stream (tar.gz, gz) against a bound and the ratio to the compressed bytes read. */
  streamCounter(bound: number, compressedSoFar: () => number): Transform {
    let total = 0;
    return quiet(
      new Transform({
        transform: (chunk: Buffer, _enc, cb) => {
          total += chunk.length;
          if (total > bound) {
            cb(
              new DataError(
                `${this.label}: archive expands beyond the ${formatBytes(this.limits.maxTotalBytes)} limit.`,
              ),
            );
            return;
          }
          if (total > RATIO_GRACE_BYTES && total / Math.max(compressedSoFar(), 1) > this.maxRatio) {
            cb(new DataError(`${this.label}: archive expands more than ${this.maxRatio} times (a compression bomb?).`));
            return;
          }
          cb(null, chunk);
        },
      }),
    );
  }

  async makeDir(target: Target): Promise<void> {
    try {
      await mkdir(target.abs, { recursive: true, mode: 0o755 });
    } catch (err) {
      this.fail(`archive entry ${printable(target.rel)} conflicts with a file of the same name`, err);
    }
  }

  /**
   * Writes one file from a source stream (through `counter` when given); refuses to overwrite anything.
   * `source` may be a function opening the stream: it is called once the output file is open, so the
   * stream is consumed (and its errors handled) as soon as it exists.
   */
  async writeFile(target: Target, source: Readable | (() => Promise<Readable>), counter?: Transform): Promise<void> {
    const dispose = () => {
      if (typeof source !== "function") source.destroy();
    };
    try {
      await this.makeDir({ rel: dirname(target.rel), abs: dirname(target.abs) });
    } catch (err) {
      dispose();
      throw err;
    }
    let handle: FileHandle;
    try {
      handle = await open(
        target.abs,
        fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_NOFOLLOW,
        0o644,
      );
    } catch (err) {
      dispose();
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "EEXIST") this.fail(`archive contains ${printable(target.rel)} twice`, err);
      this.fail(`archive entry ${printable(target.rel)} cannot be written (${code ?? "error"})`, err);
    }
    const out = createWriteStream("", { fd: handle });
    try {
      const input = typeof source === "function" ? await source() : source;
      if (counter) await pipeline(input, counter, out);
      else await pipeline(input, out);
    } catch (err) {
      out.destroy();
      if (err instanceof DataError) throw err;
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ENOSPC") this.fail("the disk is full", err);
      this.fail(
        `archive entry ${printable(target.rel)} is damaged (${printable((err as Error).message ?? String(err))})`,
        err,
      );
    }
    this.files.push(target.rel);
  }
}

// ---------------------------------------------------------------------------------------------------------
// zip

function zipOpen(path: string): Promise<yauzl.ZipFile> {
  return new Promise((resolvePromise, reject) => {
    yauzl.open(
      path,
      { lazyEntries: true, autoClose: false, decodeStrings: true, validateEntrySizes: true, strictFileNames: false },
      (err, zip) => (err ? reject(err) : resolvePromise(zip)),
    );
  });
}

function zipReadStream(zip: yauzl.ZipFile, entry: yauzl.Entry): Promise<Readable> {
  return new Promise((resolvePromise, reject) => {
    zip.openReadStream(entry, (err, stream) => (err ? reject(err) : resolvePromise(stream)));
  });
}

function mapZipError(ex: Extraction, err: unknown): DataError {
  if (err instanceof DataError) return err;
  const msg = err instanceof Error ? err.message : String(err);
  const named = /^(absolute path|invalid relative path|invalid characters in fileName): (.*)$/s.exec(msg);
  if (named) {
    const detail = named[1] === "absolute path" ? " (absolute path)" : "";
    return new DataError(`${ex.label}: archive entry ${printable(named[2]!)} escapes the data directory${detail}.`, {
      cause: err,
    });
  }
  if (/strong encryption/.test(msg))
    return new DataError(`${ex.label}: the zip is encrypted; share it without a password.`, { cause: err });
  return new DataError(`${ex.label}: the zip file is damaged or truncated.`, { cause: err, detail: printable(msg) });
}

const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;

async function zipEntry(zip: yauzl.ZipFile, entry: yauzl.Entry, ex: Extraction): Promise<void> {
  ex.countEntry();
  const target = ex.targetFor(entry.fileName);
  if (!target) return;
  const type = (entry.externalFileAttributes >>> 16) & S_IFMT;
  const isDir = entry.fileName.endsWith("/") || type === S_IFDIR;
  if (type === S_IFLNK) {
    ex.skipped.push(`${target.rel} (symbolic link, not extracted)`);
    return;
  }
  if (type !== 0 && type !== S_IFREG && type !== S_IFDIR) {
    ex.skipped.push(`${target.rel} (special file, not extracted)`);
    return;
  }
  if (isDir) {
    await ex.makeDir(target);
    return;
  }
  if (entry.isEncrypted()) ex.fail(`${printable(target.rel)} is password-protected; share the data without a password`);
  if (entry.compressionMethod !== 0 && entry.compressionMethod !== 8) {
    ex.fail(
      `${printable(target.rel)} uses an unsupported compression method (${entry.compressionMethod}); re-create the zip with standard (deflate) compression`,
    );
  }
  ex.admitFile(target.rel, entry.uncompressedSize, entry.compressedSize);
  // yauzl forwards inflate errors with a bare emit() a tick later: the stream must be piped right away.
  const openStream = async () => {
    try {
      return quiet(await zipReadStream(zip, entry));
    } catch (err) {
      throw mapZipError(ex, err);
    }
  };
  await ex.writeFile(target, openStream, ex.counter(target.rel, entry.compressedSize));
}

async function extractZip(archivePath: string, ex: Extraction): Promise<void> {
  let zip: yauzl.ZipFile;
  try {
    zip = await zipOpen(archivePath);
  } catch (err) {
    throw mapZipError(ex, err);
  }
  try {
    ex.checkEntryCount(zip.entryCount);
    await new Promise<void>((resolvePromise, reject) => {
      let settled = false;
      const settle = (err?: unknown) => {
        if (settled) return;
        settled = true;
        if (err) reject(mapZipError(ex, err));
        else resolvePromise();
      };
      zip.on("error", (err) => settle(err));
      zip.on("end", () => settle());
      zip.on("entry", (entry: yauzl.Entry) => {
        zipEntry(zip, entry, ex).then(
          () => {
            if (!settled) zip.readEntry();
          },
          (err) => settle(err),
        );
      });
      zip.readEntry();
    });
  } finally {
    zip.close();
  }
}

// ---------------------------------------------------------------------------------------------------------
// tar, tar.gz

async function extractTar(archivePath: string, gzipped: boolean, ex: Extraction): Promise<void> {
  let failure: unknown = null;
  let signalFailure!: () => void;
  const failed = new Promise<void>((r) => (signalFailure = r));
  // Entries are written one after the other (in archive order, so conflicts are reported the same way
  // every time); the parser waits meanwhile (backpressure through the counter of the pending entry).
  let chain: Promise<void> = Promise.resolve();
  const enqueue = (job: () => Promise<void>) => {
    chain = chain.then(() => (failure ? undefined : job())).catch(fail);
  };
  const active = new Set<Transform>();
  const fail = (err: unknown) => {
    if (failure) return;
    failure = err ?? new Error("unknown failure");
    for (const c of active) c.destroy(new Error("extraction stopped"));
    signalFailure();
  };

  const onEntry = (entry: ReadEntry) => {
    if (failure) {
      entry.resume();
      return;
    }
    try {
      ex.countEntry();
      const target = ex.targetFor(entry.path);
      if (!target) {
        entry.resume();
        return;
      }
      switch (entry.type) {
        case "Directory":
        case "GNUDumpDir": {
          entry.resume();
          enqueue(() => ex.makeDir(target));
          return;
        }
        case "File":
        case "OldFile":
        case "ContiguousFile": {
          ex.admitFile(target.rel, entry.size, null);
          const counter = ex.counter(target.rel, null);
          active.add(counter);
          entry.pipe(counter);
          enqueue(() => ex.writeFile(target, counter).finally(() => active.delete(counter)));
          return;
        }
        case "SymbolicLink":
          ex.skipped.push(`${target.rel} (symbolic link, not extracted)`);
          break;
        case "Link":
          ex.skipped.push(`${target.rel} (hard link, not extracted)`);
          break;
        case "CharacterDevice":
        case "BlockDevice":
        case "FIFO":
          ex.skipped.push(`${target.rel} (special file, not extracted)`);
          break;
        default:
          ex.skipped.push(`${target.rel} (unsupported tar entry type ${entry.type}, not extracted)`);
      }
      entry.resume();
    } catch (err) {
      entry.resume();
      fail(err);
    }
  };

  const parser = new Parser({ strict: true, maxDecompressionRatio: Number.MAX_SAFE_INTEGER, onReadEntry: onEntry });
  const ended = new Promise<void>((r) => parser.on("end", () => r()));
  parser.on("error", (err: unknown) => fail(err));
  // After the end-of-archive marker node-tar keeps buffering whatever follows (with a copy per chunk):
  // stop feeding it there. Tar tools ignore trailing data too.
  let sawEof = false;
  parser.on("eof", () => (sawEof = true));

  let compressedRead = 0;
  const source = quiet(createReadStream(archivePath));
  source.on("data", (c) => (compressedRead += c.length));
  // Bound the decompressed tar stream too (headers and padding included), so a gzip of nothing but zeros
  // cannot keep the CPU busy.
  const overhead = (ex.limits.maxFiles * 2 + 2000) * 1024 + 1024 * 1024;
  const counted = ex.streamCounter(ex.limits.maxTotalBytes + overhead, () => compressedRead);
  if (gzipped) pipelineCb(source, quiet(createGunzip()), counted, () => undefined);
  else pipelineCb(source, counted, () => undefined);

  try {
    for await (const chunk of counted) {
      if (failure || sawEof) break;
      if (!parser.write(chunk as Buffer)) {
        const drained = once(parser, "drain");
        drained.catch(() => undefined);
        await Promise.race([drained, failed]);
      }
      if (failure || sawEof) break;
    }
    if (!failure) {
      parser.end();
      await Promise.race([ended, failed]);
    }
  } catch (err) {
    fail(err);
  }
  // The parser has ended: every entry is enqueued; wait for the last write.
  await chain;
  if (failure) {
    counted.destroy();
    throw tarError(ex, failure);
  }
}

function tarError(ex: Extraction, err: unknown): DataError {
  if (err instanceof DataError) return err;
  const msg = err instanceof Error ? err.message : String(err);
  return new DataError(`${ex.label}: the archive is damaged or truncated.`, { cause: err, detail: printable(msg) });
}

// ---------------------------------------------------------------------------------------------------------
// single files

async function gunzipFile(archivePath: string, name: string, ex: Extraction): Promise<void> {
  const inner = sanitizeFilename(name.replace(/\.(gz|gzip)$/i, "") || "data");
  const target = ex.targetFor(inner) ?? ex.fail("the file name is not usable");
  ex.admitFile(target.rel, 0, null);
  let compressedRead = 0;
  const source = quiet(createReadStream(archivePath));
  source.on("data", (c) => (compressedRead += c.length));
  const gunzip = quiet(createGunzip());
  const bound = ex.streamCounter(Number.MAX_SAFE_INTEGER, () => compressedRead);
  try {
    await pipeline(
      source,
      gunzip,
      bound,
      ex.counter(target.rel, null),
      createWriteStream(target.abs, { flags: "wx", mode: 0o644 }),
    );
  } catch (err) {
    if (err instanceof DataError) throw err;
    ex.fail("the gzip data is damaged or truncated", err);
  }
  ex.files.push(target.rel);
}

async function placeFile(archivePath: string, name: string, move: boolean, ex: Extraction): Promise<void> {
  const target = ex.targetFor(sanitizeFilename(name)) ?? ex.fail("the file name is not usable");
  const { size } = await stat(archivePath);
  ex.admitFile(target.rel, size, null);
  const copy = () => copyFile(archivePath, target.abs, fsConstants.COPYFILE_EXCL);
  try {
    if (move) {
      try {
        await rename(archivePath, target.abs);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EXDEV") throw err;
        await copy();
      }
    } else {
      await copy();
    }
  } catch (err) {
    ex.fail(`the file cannot be copied (${(err as NodeJS.ErrnoException).code ?? "error"})`, err);
  }
  ex.bytes += size;
  ex.files.push(target.rel);
}

// ---------------------------------------------------------------------------------------------------------

/**
 * Unpacks (or places) `archivePath` into `destDir` (created when missing) and returns what was written.
 * `destDir` may already hold files (from other data sets): a name collision at the top level is refused
 * before anything is moved.
 */
export async function unpackInto(
  archivePath: string,
  destDir: string,
  limits: UnpackLimits,
  options: UnpackOptions = {},
): Promise<UnpackResult> {
  const name = options.name ?? basename(archivePath);
  const label = printable(name);
  const kind = await detectKind(archivePath, label).catch((err: unknown) => {
    if (err instanceof DataError) throw err;
    throw new DataError(`${label} cannot be read.`, { cause: err });
  });
  await mkdir(destDir, { recursive: true });
  const destRoot = await realpath(destDir);
  const staging = await mkdtemp(join(destRoot, ".aide-unpack-"));
  const ex = new Extraction(staging, limits, label, options.used ?? { files: 0, bytes: 0 });
  try {
    if (kind === "zip") await extractZip(archivePath, ex);
    else if (kind === "tar" || kind === "tar.gz") await extractTar(archivePath, kind === "tar.gz", ex);
    else if (kind === "gzip") await gunzipFile(archivePath, name, ex);
    else await placeFile(archivePath, name, options.move ?? false, ex);

    if (ex.files.length === 0) {
      const why = ex.skipped.length ? ` (skipped: ${ex.skipped.slice(0, 5).join(", ")})` : "";
      throw new DataError(`${label}: the archive contains no data files${why}.`);
    }

    let srcRoot = staging;
    let flattened: string | null = null;
    let top = await readdir(staging, { withFileTypes: true });
    if (
      (options.flattenSingleFolder ?? true) &&
      (kind === "zip" || kind === "tar" || kind === "tar.gz") &&
      top.length === 1 &&
      top[0]!.isDirectory()
    ) {
      flattened = top[0]!.name;
      srcRoot = join(staging, flattened);
      top = await readdir(srcRoot, { withFileTypes: true });
    }
    for (const t of top) {
      if (await exists(join(destRoot, t.name), { followLinks: false })) {
        throw new DataError(
          `${label} contains ${printable(t.name)}, but the data directory already has something with that name (from another data set?): rename one of them.`,
        );
      }
    }
    for (const t of top) await rename(join(srcRoot, t.name), join(destRoot, t.name));

    const prefix = flattened ? `${flattened}/` : "";
    const files = ex.files.map((f) => (prefix && f.startsWith(prefix) ? f.slice(prefix.length) : f)).sort();
    options.logger?.info(
      { archive: label, kind, files: files.length, bytes: ex.bytes, skipped: ex.skipped.length, flattened },
      "data unpacked",
    );
    return { kind, files, bytes: ex.bytes, skipped: ex.skipped, flattened };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}
