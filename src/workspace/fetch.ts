/**
 * Downloading one data link into a directory, defensively: http(s) only, no credentials in URLs, the
 * address guard on every hop (connections pinned to the checked address), a bounded number of redirects,
 * a size limit enforced on the header and on the bytes that actually arrive, an overall timeout, and a minimum
 * average rate once the body has had time to start.
 * Request headers (e.g. a Slack bot token) are sent only to the link's own origin, never logged and never
 * put in error messages; URLs in messages and logs lose their query string and fragment.
 */
import http from "node:http";
import https from "node:https";
import { type FileHandle, open, unlink } from "node:fs/promises";
import { createWriteStream } from "node:fs";
import { join } from "node:path";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { DataError } from "../errors.ts";
import type { Logger } from "../logger.ts";
import { formatBytes } from "../util/bytes.ts";
import { replaceControlCharacters, truncate } from "../util/text.ts";
import { checkHost, pinnedLookup, type PinnedAddress, type Resolver } from "./address-guard.ts";

export interface DownloadOptions {
  /** Largest body accepted, in bytes. */
  maxBytes: number;
  /** Overall time for the whole download (every hop and the body), in ms. */
  timeoutMs: number;
  /** Most redirects followed. */
  maxRedirects: number;
  /** Allow private, loopback, link-local and CGNAT addresses (AIDE_DATA_ALLOW_PRIVATE_HOSTS=1). */
  allowPrivateHosts: boolean;
  /** Exact addresses allowed whatever their class (e.g. one internal data server; tests use 127.0.0.1). */
  allowedAddresses?: readonly string[];
  /** Extra request headers, e.g. `Authorization` for Slack-hosted files. Sent to the link's origin only. */
  headers?: Record<string, string>;
  logger: Logger;
  signal?: AbortSignal;
  /** Host name resolver (tests); dns.lookup by default. */
  resolver?: Resolver;
  /**
   * Slowest average body rate tolerated once `rateGraceMs` have passed since the body started, in bytes per
   * second (0: no minimum). A server trickling bytes would otherwise hold a runner until the overall timeout.
   */
  minBytesPerSec?: number;
  rateGraceMs?: number;
}

export interface DownloadResult {
  /** Absolute path of the downloaded file (inside destDir). */
  path: string;
  bytes: number;
  /** The sanitised file name (the last component of `path`). */
  filename: string;
  contentType: string | null;
}

export const DEFAULT_DOWNLOAD_LIMITS = {
  maxBytes: 500 * 1024 * 1024,
  timeoutMs: 10 * 60_000,
  maxRedirects: 5,
  minBytesPerSec: 1024,
  rateGraceMs: 30_000,
} as const;

const MAX_FILENAME_CHARS = 120;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

function formatSeconds(ms: number): string {
  const s = ms / 1000;
  return `${s >= 10 ? Math.round(s) : Math.round(s * 10) / 10} s`;
}

/** The URL as shown to users and in logs: no credentials, no query string, no fragment, bounded length. */
export function displayUrl(url: URL | string): string {
  let u: URL;
  try {
    u = typeof url === "string" ? new URL(url) : url;
  } catch {
    const s = String(url).replace(/[?#].*$/s, "");
    return truncate(s, 200, "...");
  }
  const text = `${u.protocol}//${u.host}${u.pathname}`;
  return truncate(text, 200, "...");
}

/**
 * Makes a safe file name: the last path component only, no control or reserved characters, no leading
 * dots (so never `.` or `..`), at most 120 characters (keeping the extension).
 */
export function sanitizeFilename(raw: string, fallback = "download"): string {
  let name = raw.normalize("NFC");
  name = name.split(/[\\/]/).pop() ?? "";
  name = replaceControlCharacters(name, "_").replace(/[<>:"|?*]/g, "_");
  name = name.replace(/\s+/g, " ");
  name = name.replace(/^[.\s]+/, "").replace(/[.\s]+$/, "");
  if (!name) name = fallback;
  if (name.length > MAX_FILENAME_CHARS) {
    const m = /(\.tar\.(?:gz|bz2|xz|zst)|\.[A-Za-z0-9]{1,10})$/.exec(name);
    const ext = m ? m[1]! : "";
    name = name.slice(0, MAX_FILENAME_CHARS - ext.length) + ext;
  }
  return name;
}

/** The file name from a Content-Disposition header (RFC 6266 / 5987), unsanitised, or null. */
export function filenameFromDisposition(header: string | undefined): string | null {
  if (!header) return null;
  const star = /(?:^|;)\s*filename\*\s*=\s*([^;]+)/i.exec(header);
  if (star) {
    const m = /^\s*([A-Za-z0-9!#$%&+^_`{}~-]*)'[^']*'(.*?)\s*$/.exec(star[1]!);
    if (m) {
      const charset = m[1]!.toLowerCase();
      try {
        if (charset === "utf-8" || charset === "") return decodeURIComponent(m[2]!);
        return m[2]!.replace(/%([0-9A-Fa-f]{2})/g, (_s, hex: string) => String.fromCharCode(parseInt(hex, 16)));
      } catch {
        /* fall through to the plain parameter */
      }
    }
  }
  const plain = /(?:^|;)\s*filename\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;]*))/i.exec(header);
  if (plain) {
    const value = plain[1] !== undefined ? plain[1].replace(/\\(.)/g, "$1") : (plain[2] ?? "").trim();
    return value || null;
  }
  return null;
}

function filenameFromUrl(u: URL): string | null {
  const segment = u.pathname.split("/").filter(Boolean).pop();
  if (!segment) return null;
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

const EXT_FOR_TYPE: Record<string, string> = {
  "application/zip": ".zip",
  "application/x-zip-compressed": ".zip",
  "application/gzip": ".gz",
  "application/x-gzip": ".gz",
  "application/x-tar": ".tar",
  "text/csv": ".csv",
  "text/tab-separated-values": ".tsv",
  "application/json": ".json",
  "application/vnd.apache.parquet": ".parquet",
  "application/x-parquet": ".parquet",
  "text/plain": ".txt",
};

function chooseFilename(
  disposition: string | undefined,
  finalUrl: URL,
  originalUrl: URL,
  contentType: string | null,
): string {
  const hasExt = (n: string | null): n is string => !!n && /\.[A-Za-z0-9]{1,10}$/.test(n);
  const fromHeader = filenameFromDisposition(disposition);
  const fromFinal = filenameFromUrl(finalUrl);
  const fromOriginal = filenameFromUrl(originalUrl);
  const picked =
    fromHeader ?? (hasExt(fromFinal) ? fromFinal : hasExt(fromOriginal) ? fromOriginal : (fromOriginal ?? fromFinal));
  let name = sanitizeFilename(picked ?? "download");
  if (!hasExt(name) && contentType) {
    const ext = EXT_FOR_TYPE[contentType.split(";")[0]!.trim().toLowerCase()];
    if (ext) name = sanitizeFilename(name + ext);
  }
  return name;
}

function sameOrigin(a: URL, b: URL): boolean {
  return a.protocol === b.protocol && a.host === b.host;
}

/** Checks scheme and credentials; `what` prefixes the message ("Download of X refused"). */
function assertAcceptableUrl(u: URL, refusedPrefix: string, redirected: boolean): void {
  const via = redirected ? "it redirects to" : "it is";
  if (u.protocol !== "http:" && u.protocol !== "https:") {
    throw new DataError(
      `${refusedPrefix}: ${via} a ${u.protocol.replace(/:$/, "")}: link; only http and https links can be downloaded.`,
    );
  }
  if (u.username || u.password) {
    throw new DataError(
      `${refusedPrefix}: ${via} a link with a user name or password in it; share a link without credentials.`,
    );
  }
}

/** Rejects when the signal aborts (for steps that cannot be cancelled themselves, like DNS). */
function raceAbort<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener("abort", onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener("abort", onAbort);
        reject(e);
      },
    );
  });
}

function sendRequest(
  u: URL,
  hostname: string,
  pinned: PinnedAddress,
  headers: Record<string, string>,
  signal: AbortSignal,
): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const mod = u.protocol === "https:" ? https : http;
    const req = mod.request(
      {
        protocol: u.protocol,
        hostname,
        port: u.port || undefined,
        path: `${u.pathname}${u.search}`,
        method: "GET",
        headers,
        agent: false,
        lookup: pinnedLookup(pinned),
        signal,
      },
      resolve,
    );
    req.on("error", reject);
    req.end();
  });
}

/** Maps a low-level network / stream error to a user-facing reason. */
function networkReason(err: unknown): string {
  const e = err as NodeJS.ErrnoException | undefined;
  const code = e?.code ?? "";
  if (code === "ECONNREFUSED") return "the connection was refused";
  if (code === "ECONNRESET" || code === "ERR_STREAM_PREMATURE_CLOSE" || e?.message === "aborted") {
    return "the connection closed before the whole file arrived";
  }
  if (code === "ETIMEDOUT") return "the connection timed out";
  if (code === "EHOSTUNREACH" || code === "ENETUNREACH") return "the host cannot be reached";
  if (code === "ENOSPC") return "the disk is full";
  if (code.startsWith("HPE_")) return "the server sent an invalid HTTP response";
  if (/CERT|TLS|SSL|SELF_SIGNED|UNABLE_TO_VERIFY/i.test(code))
    return "the server's TLS certificate could not be verified";
  return code ? `a network error occurred (${code})` : "a network error occurred";
}

/**
 * Downloads `url` into `destDir` (which must exist) and returns the file's path, size, sanitised name and
 * content type. Every failure is a DataError with a user-facing message; a partial file is deleted.
 */
export async function downloadToFile(url: string, destDir: string, opts: DownloadOptions): Promise<DownloadResult> {
  let original: URL;
  try {
    original = new URL(url);
  } catch {
    throw new DataError(`${displayUrl(url)} is not a valid link.`);
  }
  const shown = displayUrl(original);
  const refused = `Download of ${shown} refused`;
  const failed = `Download of ${shown} failed`;
  assertAcceptableUrl(original, refused, false);

  const controller = new AbortController();
  let timedOut = false;
  let tooSlow: string | null = null;
  let rateCheck: NodeJS.Timeout | undefined;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new Error("download timeout"));
  }, opts.timeoutMs);
  const onOuterAbort = () => controller.abort(opts.signal?.reason);
  if (opts.signal?.aborted) controller.abort(opts.signal.reason);
  else opts.signal?.addEventListener("abort", onOuterAbort, { once: true });

  const policy = { allowPrivateHosts: opts.allowPrivateHosts, allowedAddresses: opts.allowedAddresses };
  let partialPath: string | null = null;
  const started = Date.now();
  try {
    let current = original;
    const visited = new Set<string>([original.href]);
    for (let hop = 0; ; hop++) {
      const decision = await raceAbort(checkHost(current.hostname, policy, opts.resolver), controller.signal);
      if (!decision.ok) {
        const host = current.hostname;
        if (decision.kind === "refused") throw new DataError(`${refused}: ${decision.reason}.`);
        throw new DataError(`${failed}: ${host}: ${decision.reason}.`);
      }
      const headers: Record<string, string> = {
        "user-agent": "aide-in-chat/0.1",
        accept: "*/*",
        ...(sameOrigin(current, original) ? (opts.headers ?? {}) : {}),
        "accept-encoding": "identity",
      };
      const res = await sendRequest(current, decision.hostname, decision.pinned, headers, controller.signal);
      // Errors on the response are handled where it is consumed (pipeline) or it is destroyed; never unhandled.
      res.on("error", () => undefined);
      const status = res.statusCode ?? 0;

      if (REDIRECT_STATUSES.has(status)) {
        res.destroy();
        const location = res.headers.location;
        if (!location) throw new DataError(`${failed}: the server answered ${status} without saying where to go.`);
        if (hop >= opts.maxRedirects)
          throw new DataError(`${failed}: too many redirects (more than ${opts.maxRedirects}).`);
        let next: URL;
        try {
          next = new URL(location, current);
        } catch {
          throw new DataError(`${failed}: it redirects to an invalid link.`);
        }
        assertAcceptableUrl(next, refused, true);
        if (visited.has(next.href))
          throw new DataError(`${failed}: too many redirects (the links redirect in a loop).`);
        visited.add(next.href);
        opts.logger.debug({ url: shown, hop: hop + 1, to: displayUrl(next) }, "download redirected");
        current = next;
        continue;
      }

      if (status < 200 || status >= 300) {
        res.destroy();
        const text = res.statusMessage || http.STATUS_CODES[status] || "";
        throw new DataError(`${failed}: the server answered ${status}${text ? ` ${text}` : ""}.`);
      }

      const lengthHeader = res.headers["content-length"];
      const declared = lengthHeader !== undefined && /^\d+$/.test(lengthHeader) ? Number(lengthHeader) : null;
      if (declared !== null && declared > opts.maxBytes) {
        res.destroy();
        throw new DataError(
          `${refused}: the file (${formatBytes(declared)}) is larger than the ${formatBytes(opts.maxBytes)} limit.`,
        );
      }
      const contentType = res.headers["content-type"] ?? null;
      const filename = chooseFilename(res.headers["content-disposition"], current, original, contentType);

      // Open a fresh file (never overwrite): name, name-2, name-3...
      let handle: FileHandle | undefined;
      let finalName = filename;
      for (let i = 1; ; i++) {
        if (i > 1) {
          const m = /^(.*?)((?:\.tar)?\.[A-Za-z0-9]{1,10})?$/.exec(filename)!;
          finalName = `${m[1]}-${i}${m[2] ?? ""}`;
        }
        try {
          handle = await open(join(destDir, finalName), "wx", 0o644);
          break;
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (code !== "EEXIST" || i >= 100) {
            res.destroy();
            throw new DataError(`${failed}: the file cannot be saved (${code ?? "error"}).`, { cause: err });
          }
        }
      }
      const path = join(destDir, finalName);
      partialPath = path;

      let bytes = 0;
      const counter = new Transform({
        transform(chunk: Buffer, _enc, cb) {
          bytes += chunk.length;
          if (bytes > opts.maxBytes) {
            cb(
              new DataError(
                `Download of ${shown} stopped: the file is larger than the ${formatBytes(opts.maxBytes)} limit.`,
              ),
            );
            return;
          }
          cb(null, chunk);
        },
      });
      const minRate = opts.minBytesPerSec ?? DEFAULT_DOWNLOAD_LIMITS.minBytesPerSec;
      if (minRate > 0) {
        const grace = opts.rateGraceMs ?? DEFAULT_DOWNLOAD_LIMITS.rateGraceMs;
        const bodyStarted = Date.now();
        rateCheck = setInterval(
          () => {
            const elapsed = Date.now() - bodyStarted;
            const rate = bytes / Math.max(elapsed / 1000, 0.001);
            if (elapsed < grace || rate >= minRate) return;
            tooSlow = `${formatBytes(Math.floor(rate))}/s on average over ${formatSeconds(elapsed)}, below the ${formatBytes(minRate)}/s minimum`;
            controller.abort(new Error("download too slow"));
          },
          Math.min(1000, Math.max(50, grace / 4)),
        );
      }
      await pipeline(res, counter, createWriteStream("", { fd: handle }), { signal: controller.signal });
      clearInterval(rateCheck);
      if (declared !== null && bytes !== declared) {
        throw new DataError(
          `${failed}: the connection closed before the whole file arrived (${formatBytes(bytes)} of ${formatBytes(declared)}).`,
        );
      }
      partialPath = null;
      opts.logger.info({ url: shown, bytes, filename: finalName, ms: Date.now() - started }, "download finished");
      return { path, bytes, filename: finalName, contentType };
    }
  } catch (err) {
    if (partialPath) await unlink(partialPath).catch(() => undefined);
    let out: DataError;
    if (err instanceof DataError) out = err;
    else if (tooSlow) out = new DataError(`Download of ${shown} was too slow: ${tooSlow}.`);
    else if (timedOut) out = new DataError(`Download of ${shown} timed out after ${formatSeconds(opts.timeoutMs)}.`);
    else if (opts.signal?.aborted) out = new DataError(`Download of ${shown} was cancelled.`);
    else out = new DataError(`${failed}: ${networkReason(err)}.`, { cause: err });
    opts.logger.warn({ url: shown, err: out.message }, "download failed");
    throw out;
  } finally {
    clearTimeout(timer);
    clearInterval(rateCheck);
    opts.signal?.removeEventListener("abort", onOuterAbort);
  }
}
