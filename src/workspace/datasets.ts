/**
 * Getting a run's data in place: every data link is downloaded into a temporary area (fetch.ts), then
 * unpacked into the run's `input/` directory (unpack.ts); local files (chat attachments the bot already
 * downloaded) go through the same unpacking. Limits on files and bytes apply to all data sets together,
 * name collisions between data sets are refused, and temporary files are always removed.
 */
import { mkdir, mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { DataError } from "../errors.ts";
import type { Logger } from "../logger.ts";
import type { Resolver } from "./address-guard.ts";
import { DEFAULT_DOWNLOAD_LIMITS, displayUrl, downloadToFile } from "./fetch.ts";
import { DEFAULT_UNPACK_LIMITS, unpackInto, type ArchiveKind, type UnpackLimits } from "./unpack.ts";

export interface DatasetDownloadSettings {
  maxBytes: number;
  timeoutMs: number;
  maxRedirects: number;
  allowPrivateHosts: boolean;
  allowedAddresses?: readonly string[];
  resolver?: Resolver;
  minBytesPerSec?: number;
  rateGraceMs?: number;
}

export interface LocalDataFile {
  path: string;
  /** The name the user gave the file (e.g. the attachment's name); default: the path's base name. */
  name?: string;
}

export interface FetchDatasetsOptions {
  /** Download limits per link (defaults: DEFAULT_DOWNLOAD_LIMITS, private hosts refused). */
  download?: Partial<DatasetDownloadSettings>;
  /** Limits for all data sets together (default: DEFAULT_UNPACK_LIMITS). */
  unpack?: UnpackLimits;
  /**
   * Request headers for a link, e.g. the Slack bot token for files.slack.com. Called once per link; the
   * headers go to that link's origin only and are never logged.
   */
  headersFor?: (url: URL) => Record<string, string> | undefined;
  /** Files already on disk (chat attachments), unpacked like downloads; they are copied, not moved. */
  localFiles?: Array<string | LocalDataFile>;
  /** Where the temporary download area is created (default: the OS temp directory). */
  tempDir?: string;
  logger: Logger;
  signal?: AbortSignal;
}

export interface DatasetSummary {
  /** The link (without query string) or the local file's name. */
  source: string;
  kind: ArchiveKind;
  /** Files this data set added, relative to inputDir. */
  files: string[];
  bytes: number;
  skipped: string[];
  flattened: string | null;
}

export interface DatasetsSummary {
  datasets: DatasetSummary[];
  /** All files added, relative to inputDir, sorted. */
  files: string[];
  totalBytes: number;
  skipped: string[];
}

/**
 * Downloads every link and unpacks it (and every local file) into `inputDir`. Throws a DataError with a
 * user-facing message on the first problem; what was already unpacked stays in `inputDir`.
 */
export async function fetchDatasets(
  links: string[],
  inputDir: string,
  opts: FetchDatasetsOptions,
): Promise<DatasetsSummary> {
  const uniqueLinks = [...new Set(links.map((l) => l.trim()).filter(Boolean))];
  const locals = (opts.localFiles ?? []).map((f) => (typeof f === "string" ? { path: f } : f));
  if (uniqueLinks.length === 0 && locals.length === 0) {
    throw new DataError("No data given: add a link to the data set (a zip, tar.gz or csv file) or attach the files.");
  }
  const dl = {
    maxBytes: opts.download?.maxBytes ?? DEFAULT_DOWNLOAD_LIMITS.maxBytes,
    timeoutMs: opts.download?.timeoutMs ?? DEFAULT_DOWNLOAD_LIMITS.timeoutMs,
    maxRedirects: opts.download?.maxRedirects ?? DEFAULT_DOWNLOAD_LIMITS.maxRedirects,
    allowPrivateHosts: opts.download?.allowPrivateHosts ?? false,
    allowedAddresses: opts.download?.allowedAddresses,
    resolver: opts.download?.resolver,
    minBytesPerSec: opts.download?.minBytesPerSec ?? DEFAULT_DOWNLOAD_LIMITS.minBytesPerSec,
    rateGraceMs: opts.download?.rateGraceMs ?? DEFAULT_DOWNLOAD_LIMITS.rateGraceMs,
  };
  const limits = opts.unpack ?? DEFAULT_UNPACK_LIMITS;
  await mkdir(inputDir, { recursive: true });

  const datasets: DatasetSummary[] = [];
  const used = { files: 0, bytes: 0 };
  const record = (source: string, r: Awaited<ReturnType<typeof unpackInto>>) => {
    datasets.push({ source, kind: r.kind, files: r.files, bytes: r.bytes, skipped: r.skipped, flattened: r.flattened });
    used.files += r.files.length;
    used.bytes += r.bytes;
  };
  const checkCancelled = () => {
    if (opts.signal?.aborted) throw new DataError("Fetching the data was cancelled.");
  };

  let temp: string | null = null;
  try {
    if (uniqueLinks.length > 0) temp = await mkdtemp(join(opts.tempDir ?? tmpdir(), "aide-download-"));
    for (const link of uniqueLinks) {
      checkCancelled();
      let headers: Record<string, string> | undefined;
      try {
        headers = opts.headersFor?.(new URL(link));
      } catch {
        headers = undefined; // an invalid URL: downloadToFile explains it
      }
      const file = await downloadToFile(link, temp!, { ...dl, headers, logger: opts.logger, signal: opts.signal });
      try {
        checkCancelled();
        const r = await unpackInto(file.path, inputDir, limits, {
          name: file.filename,
          move: true,
          used,
          logger: opts.logger,
        });
        record(displayUrl(link), r);
      } finally {
        await rm(file.path, { force: true });
      }
    }
    for (const local of locals) {
      checkCancelled();
      const name = local.name ?? basename(local.path);
      try {
        const info = await stat(local.path);
        if (!info.isFile()) throw new Error("not a regular file");
      } catch (err) {
        throw new DataError(`The attached file ${name} cannot be read.`, { cause: err });
      }
      const r = await unpackInto(local.path, inputDir, limits, { name, move: false, used, logger: opts.logger });
      record(name, r);
    }
  } finally {
    if (temp) await rm(temp, { recursive: true, force: true });
  }

  const files = datasets.flatMap((d) => d.files).sort();
  const totalBytes = datasets.reduce((n, d) => n + d.bytes, 0);
  const skipped = datasets.flatMap((d) => d.skipped.map((s) => `${d.source}: ${s}`));
  opts.logger.info({ datasets: datasets.length, files: files.length, bytes: totalBytes }, "data sets ready");
  return { datasets, files, totalBytes, skipped };
}
