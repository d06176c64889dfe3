/**
 * Bad input, part 2: hostile data sets through fetchDatasets (download + unpack, as the runner calls it), against
 * the real file server on 127.0.0.1. The SSRF guard stays on: private hosts are refused, and only the file
 * server's exact address (127.0.0.1) is allowed, standing for a public host; host names are resolved by a table
 * (`data.example.test` is "public" and points at the file server; the others point at private addresses).
 *
 * Every case must fail with a DataError whose message says what is wrong, leave nothing in input/ and nothing in
 * the temporary download area, and contact nothing it must not (refused addresses are never connected to; a
 * refused redirect is followed by no second request). After the whole matrix, a good data set still downloads.
 */
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DataError } from "../../../src/errors.ts";
import { silentLogger } from "../../../src/logger.ts";
import type { Resolver } from "../../../src/workspace/address-guard.ts";
import { fetchDatasets, type FetchDatasetsOptions } from "../../../src/workspace/datasets.ts";
import { startFileServer, type FileServer, type Route } from "../../fakes/file-server.ts";
import { buildTar, buildZip, tinyTaskFiles } from "./archives.ts";

const MB = 1024 * 1024;
const LIMITS = { maxBytes: 1 * MB, timeoutMs: 1500, maxRedirects: 3 };
const UNPACK = { maxFiles: 50, maxTotalBytes: 64 * MB };

let server: FileServer;
let root: string;
/** A directory outside input/ that link entries point at: it must stay empty. */
let outside: string;

const NAMES: Record<string, string[]> = {
  "data.example.test": ["127.0.0.1"],
  "internal.example.test": ["10.1.2.3"],
  "mixed.example.test": ["93.184.216.34", "192.168.1.1"],
  "mapped.example.test": ["::ffff:10.0.0.1"],
  "metadata.example.test": ["169.254.169.254"],
  "loopback6.example.test": ["::1"],
};
const resolver: Resolver = async (host) => {
  const addresses = NAMES[host.toLowerCase()];
  if (!addresses) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: "ENOTFOUND" });
  return addresses.map((address) => ({ address, family: address.includes(":") ? 6 : 4 }));
};

function options(
  over: Partial<FetchDatasetsOptions> = {},
  download: Partial<NonNullable<FetchDatasetsOptions["download"]>> = {},
): FetchDatasetsOptions {
  return {
    download: { ...LIMITS, allowPrivateHosts: false, allowedAddresses: ["127.0.0.1"], resolver, ...download },
    unpack: UNPACK,
    tempDir: join(root, "tmp"),
    logger: silentLogger,
    ...over,
  };
}

/** Every path under dir (files, directories, links), relative. */
function walk(dir: string, prefix = ""): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const rel = prefix ? `${prefix}/${name}` : name;
    const st = lstatSync(join(dir, name));
    return st.isDirectory() ? [rel, ...walk(join(dir, name), rel)] : [rel];
  });
}

const zeros = (n: number) => Buffer.alloc(n, 0);
const task = tinyTaskFiles();
const taskZipEntries = Object.entries(task).map(([name, data]) => ({ name, data }));

interface Case {
  what: string;
  /** Routes to add on the file server. */
  routes?: Record<string, Route>;
  /** The link, with PORT replaced by the file server's port. */
  link: string;
  expected: RegExp;
  download?: Partial<NonNullable<FetchDatasetsOptions["download"]>>;
  /** Requests the file server may see for this case (default: any). */
  requests?: number;
}

const CASES: Record<string, Case[]> = {
  huge: [
    {
      what: "Content-Length above the limit",
      routes: { "/huge.csv": { kind: "file", body: Buffer.alloc(2 * MB, 0x61), contentType: "text/csv" } },
      link: "http://data.example.test:PORT/huge.csv",
      expected: /refused: the file \(2 MB\) is larger than the 1 MB limit/,
    },
    {
      what: "no Content-Length, streamed beyond the limit",
      routes: { "/chunked.csv": { kind: "file", body: Buffer.alloc(2 * MB, 0x61), chunked: true } },
      link: "http://data.example.test:PORT/chunked.csv",
      expected: /stopped: the file is larger than the 1 MB limit/,
    },
    {
      what: "Content-Length larger than the body",
      routes: { "/short.csv": { kind: "lying-length", declaredLength: 900_000, body: Buffer.alloc(1000, 0x61) } },
      link: "http://data.example.test:PORT/short.csv",
      expected: /closed before the whole file arrived/,
    },
  ],
  endless: [
    {
      what: "a never-ending chunked body",
      routes: { "/endless.csv": { kind: "endless", chunkSize: 64 * 1024 } },
      link: "http://data.example.test:PORT/endless.csv",
      expected: /stopped: the file is larger than the 1 MB limit/,
    },
  ],
  slow: [
    {
      what: "a server that never answers",
      routes: { "/hang.csv": { kind: "hang" } },
      link: "http://data.example.test:PORT/hang.csv",
      expected: /timed out after 1\.5 s/,
    },
    {
      what: "a trickle below the minimum rate",
      routes: { "/drip.csv": { kind: "slow", body: Buffer.alloc(100_000, 0x61), chunkSize: 100, intervalMs: 100 } },
      link: "http://data.example.test:PORT/drip.csv",
      expected: /was too slow: .*\/s on average over .* s, below the 2 KB\/s minimum/,
      download: { timeoutMs: 20_000, minBytesPerSec: 2000, rateGraceMs: 500 },
    },
    {
      what: "a trickle past the time limit",
      routes: { "/trickle.csv": { kind: "slow", body: Buffer.alloc(100_000, 0x61), chunkSize: 100, intervalMs: 100 } },
      link: "http://data.example.test:PORT/trickle.csv",
      expected: /timed out after 1\.5 s/,
    },
  ],
  "wrongly typed": [
    {
      what: "an HTML page served as CSV",
      routes: {
        "/report.csv": {
          kind: "file",
          body: "<!DOCTYPE html><html><body>Please sign in</body></html>",
          contentType: "text/csv",
        },
      },
      link: "http://data.example.test:PORT/report.csv",
      expected: /report\.csv is a web page, not a data file/,
    },
    {
      what: "an HTML page with no file name",
      routes: {
        "/share": {
          kind: "file",
          body: "\n  <html><head><title>Drive</title></head></html>",
          contentType: "text/html; charset=utf-8",
        },
      },
      link: "http://data.example.test:PORT/share",
      expected: /is a web page, not a data file/,
    },
    {
      what: "a .zip holding text",
      routes: { "/data.zip": { kind: "file", body: "File not found\n", contentType: "application/zip" } },
      link: "http://data.example.test:PORT/data.zip",
      expected: /data\.zip is named like a zip archive but holds text/,
    },
    {
      what: "a .zip holding binary garbage",
      routes: {
        "/junk.zip": { kind: "file", body: Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 256)) },
      },
      link: "http://data.example.test:PORT/junk.zip",
      expected: /junk\.zip is not a zip, tar or csv file/,
    },
    {
      what: "binary garbage as CSV",
      routes: {
        "/train.csv": {
          kind: "file",
          body: Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 31 + 7) % 256)),
          contentType: "text/csv",
        },
      },
      link: "http://data.example.test:PORT/train.csv",
      expected: /train\.csv is not a zip, tar or csv file/,
    },
    {
      what: "a truncated zip",
      routes: { "/cut.zip": { kind: "file", body: buildZip(taskZipEntries).subarray(0, 300) } },
      link: "http://data.example.test:PORT/cut.zip",
      expected: /cut\.zip: .*(damaged|truncated)/,
    },
    {
      what: "a .tar.gz that is plain text",
      routes: { "/data.tar.gz": { kind: "file", body: "not really\n" } },
      link: "http://data.example.test:PORT/data.tar.gz",
      expected: /data\.tar\.gz is named like gzip data but holds text/,
    },
    {
      what: "a bzip2 file",
      routes: { "/data.bz2": { kind: "file", body: Buffer.from([0x42, 0x5a, 0x68, 0x39, 0x31, 0x41, 0x59, 0x26]) } },
      link: "http://data.example.test:PORT/data.bz2",
      expected: /bzip2 file, which is not supported/,
    },
    {
      what: "an empty file",
      routes: { "/empty.csv": { kind: "file", body: "" } },
      link: "http://data.example.test:PORT/empty.csv",
      expected: /empty\.csv is empty/,
    },
  ],
  "zip bombs": [
    {
      what: "a 40 MB entry of zeros (ratio about 1000)",
      routes: { "/bomb.zip": { kind: "file", body: buildZip([{ name: "big.csv", data: zeros(40 * MB) }]) } },
      link: "http://data.example.test:PORT/bomb.zip",
      expected: /expands more than 200 times \(a zip bomb\?\)/,
    },
    {
      what: "an entry lying about its size",
      routes: {
        "/liar.zip": { kind: "file", body: buildZip([{ name: "big.csv", data: zeros(40 * MB), declaredSize: 1000 }]) },
      },
      link: "http://data.example.test:PORT/liar.zip",
      expected: /liar\.zip: .*(zip bomb|damaged|truncated|beyond)/,
    },
    {
      what: "many entries together beyond the unpacked limit",
      routes: {
        "/many.zip": {
          kind: "file",
          body: buildZip(Array.from({ length: 5 }, (_, i) => ({ name: `part${i}.csv`, data: zeros(15 * MB) }))),
        },
      },
      link: "http://data.example.test:PORT/many.zip",
      expected: /expands beyond the 64 MB limit/,
    },
    {
      what: "a tar.gz bomb",
      routes: {
        "/bomb.tar.gz": { kind: "file", body: buildTar([{ name: "big.csv", data: zeros(40 * MB) }], { gzip: true }) },
      },
      link: "http://data.example.test:PORT/bomb.tar.gz",
      expected: /bomb\.tar\.gz: archive expands (more than 200 times|beyond)/,
    },
    {
      what: "a gzipped CSV bomb",
      routes: { "/big.csv.gz": { kind: "file", body: gzipSync(zeros(40 * MB)) } },
      link: "http://data.example.test:PORT/big.csv.gz",
      expected: /big\.csv\.gz: archive expands more than 200 times/,
    },
    {
      what: "more files than allowed",
      routes: {
        "/files.zip": {
          kind: "file",
          body: buildZip(Array.from({ length: 60 }, (_, i) => ({ name: `f${i}.csv`, data: "a\n1\n" }))),
        },
      },
      link: "http://data.example.test:PORT/files.zip",
      expected: /more than 50 files/,
    },
  ],
  "path traversal": [
    {
      what: "zip entry ../evil.csv",
      routes: { "/up.zip": { kind: "file", body: buildZip([...taskZipEntries, { name: "../evil.csv", data: "x" }]) } },
      link: "http://data.example.test:PORT/up.zip",
      expected: /entry \.\.\/evil\.csv escapes the data directory/,
    },
    {
      what: "zip entry a/../../evil.csv",
      routes: { "/deep.zip": { kind: "file", body: buildZip([{ name: "a/../../evil.csv", data: "x" }]) } },
      link: "http://data.example.test:PORT/deep.zip",
      expected: /escapes the data directory/,
    },
    {
      what: "zip entry with backslashes ..\\evil.csv",
      routes: { "/win.zip": { kind: "file", body: buildZip([{ name: "..\\evil.csv", data: "x" }]) } },
      link: "http://data.example.test:PORT/win.zip",
      expected: /escapes the data directory/,
    },
    {
      what: "zip entry with an absolute path",
      routes: { "/abs.zip": { kind: "file", body: buildZip([{ name: "/tmp/evil.csv", data: "x" }]) } },
      link: "http://data.example.test:PORT/abs.zip",
      expected: /escapes the data directory \(absolute path\)/,
    },
    {
      what: "zip entry with a drive letter",
      routes: { "/drive.zip": { kind: "file", body: buildZip([{ name: "C:\\evil.csv", data: "x" }]) } },
      link: "http://data.example.test:PORT/drive.zip",
      expected: /absolute path/,
    },
    {
      what: "tar entry ../evil.csv",
      routes: { "/up.tar": { kind: "file", body: buildTar([{ name: "../evil.csv", data: "x" }]) } },
      link: "http://data.example.test:PORT/up.tar",
      expected: /escapes the data directory/,
    },
    {
      what: "tar.gz entry with an absolute path",
      routes: {
        "/abs.tar.gz": { kind: "file", body: buildTar([{ name: "/tmp/evil.csv", data: "x" }], { gzip: true }) },
      },
      link: "http://data.example.test:PORT/abs.tar.gz",
      expected: /absolute path/,
    },
    {
      what: "an archive holding only links",
      routes: {
        "/links.tar": {
          kind: "file",
          body: buildTar([
            { name: "a", type: "symlink", linkname: "/etc/passwd" },
            { name: "b", type: "hardlink", linkname: "/etc/shadow" },
          ]),
        },
      },
      link: "http://data.example.test:PORT/links.tar",
      expected:
        /contains no data files \(skipped: a \(symbolic link, not extracted\), b \(hard link, not extracted\)\)/,
    },
  ],
  "private addresses": [
    {
      what: "a private IPv4 address",
      link: "http://10.0.0.1/data.csv",
      expected: /refused: 10\.0\.0\.1 is a private address/,
    },
    {
      what: "the cloud metadata address",
      link: "http://169.254.169.254/latest/meta-data/",
      expected: /169\.254\.169\.254 is a cloud metadata address \(always refused\)/,
    },
    {
      what: "another loopback address",
      link: "http://127.0.0.2:PORT/data.csv",
      expected: /127\.0\.0\.2 is a loopback address/,
    },
    { what: "IPv6 loopback", link: "http://[::1]:PORT/data.csv", expected: /::1 is a loopback address/ },
    {
      what: "IPv4-mapped IPv6 loopback",
      link: "http://[::ffff:127.0.0.2]:PORT/data.csv",
      expected: /is a loopback address/,
    },
    {
      what: "IPv4-mapped IPv6 metadata",
      link: "http://[::ffff:169.254.169.254]/",
      expected: /is a cloud metadata address/,
    },
    { what: "IPv6 link-local", link: "http://[fe80::1]/data.csv", expected: /fe80::1 is a link-local address/ },
    { what: "IPv6 unique local", link: "http://[fd12:3456::1]/data.csv", expected: /is a private address/ },
    {
      what: "the unspecified address",
      link: "http://0.0.0.0:PORT/data.csv",
      expected: /0\.0\.0\.0 is an unspecified address \(always refused\)/,
    },
    {
      what: "a private address as one decimal number",
      link: "http://167772161/data.csv",
      expected: /10\.0\.0\.1 is a private address/,
    },
    {
      what: "a loopback address in octal",
      link: "http://0177.0.0.2:PORT/data.csv",
      expected: /127\.0\.0\.2 is a loopback address/,
    },
    {
      what: "carrier-grade NAT",
      link: "http://100.64.0.1/data.csv",
      expected: /100\.64\.0\.1 is a carrier-grade NAT address/,
    },
  ],
  "names resolving to private addresses": [
    {
      what: "a name resolving to a private address",
      link: "http://internal.example.test/data.csv",
      expected: /internal\.example\.test resolves to 10\.1\.2\.3, which is a private address/,
    },
    {
      what: "a name resolving to a public and a private address",
      link: "http://mixed.example.test/data.csv",
      expected: /resolves to 192\.168\.1\.1, which is a private address/,
    },
    {
      what: "a name resolving to an IPv4-mapped private address",
      link: "http://mapped.example.test/data.csv",
      expected: /resolves to ::ffff:10\.0\.0\.1, which is a private address/,
    },
    {
      what: "a name resolving to the metadata address",
      link: "http://metadata.example.test/",
      expected: /which is a cloud metadata address/,
    },
    {
      what: "a name resolving to IPv6 loopback",
      link: "http://loopback6.example.test:PORT/data.csv",
      expected: /resolves to ::1, which is a loopback address/,
    },
  ],
  "redirects into private addresses": [
    {
      what: "redirect to a private address",
      routes: { "/r-private": { kind: "redirect", location: "http://10.0.0.1/data.csv" } },
      link: "http://data.example.test:PORT/r-private",
      expected: /10\.0\.0\.1 is a private address/,
      requests: 1,
    },
    {
      what: "redirect to another loopback address",
      routes: { "/r-loop": { kind: "redirect", location: "http://127.0.0.2:PORT/data.csv" } },
      link: "http://data.example.test:PORT/r-loop",
      expected: /127\.0\.0\.2 is a loopback address/,
      requests: 1,
    },
    {
      what: "redirect to the metadata address",
      routes: {
        "/r-meta": { kind: "redirect", location: "http://169.254.169.254/latest/meta-data/iam/security-credentials/" },
      },
      link: "http://data.example.test:PORT/r-meta",
      expected: /cloud metadata address/,
      requests: 1,
    },
    {
      what: "redirect to a name resolving to a private address",
      routes: { "/r-name": { kind: "redirect", location: "http://internal.example.test/data.csv", status: 307 } },
      link: "http://data.example.test:PORT/r-name",
      expected: /internal\.example\.test resolves to 10\.1\.2\.3/,
      requests: 1,
    },
    {
      what: "redirect to IPv6 loopback",
      routes: { "/r-v6": { kind: "redirect", location: "http://[::1]:PORT/data.csv", status: 308 } },
      link: "http://data.example.test:PORT/r-v6",
      expected: /::1 is a loopback address/,
      requests: 1,
    },
    {
      what: "two hops, then a private address",
      routes: {
        "/hop1": { kind: "redirect", location: "/hop2" },
        "/hop2": { kind: "redirect", location: "http://192.168.0.10/data.csv" },
      },
      link: "http://data.example.test:PORT/hop1",
      expected: /192\.168\.0\.10 is a private address/,
      requests: 2,
    },
    {
      what: "redirect to a file: link",
      routes: { "/r-file": { kind: "redirect", location: "file:///etc/passwd" } },
      link: "http://data.example.test:PORT/r-file",
      expected: /redirects to a file: link; only http and https/,
      requests: 1,
    },
    {
      what: "redirect to a link with credentials",
      routes: { "/r-creds": { kind: "redirect", location: "http://admin:hunter2@data.example.test:PORT/data.csv" } },
      link: "http://data.example.test:PORT/r-creds",
      expected: /user name or password/,
      requests: 1,
    },
    {
      what: "a redirect loop",
      routes: {
        "/loop1": { kind: "redirect", location: "/loop2" },
        "/loop2": { kind: "redirect", location: "/loop1" },
      },
      link: "http://data.example.test:PORT/loop1",
      expected: /too many redirects/,
    },
  ],
  schemes: [
    { what: "a file: link", link: "file:///etc/passwd", expected: /a file: link; only http and https/ },
    { what: "an ftp: link", link: "ftp://data.example.test/data.csv", expected: /an? ftp: link|a ftp: link/ },
    {
      what: "credentials in the link",
      link: "http://user:secret@data.example.test:PORT/x.csv",
      expected: /user name or password/,
    },
    { what: "not a link at all", link: "http://[oops/data.csv", expected: /is not a valid link/ },
  ],
};

beforeAll(async () => {
  server = await startFileServer();
  root = mkdtempSync(join(tmpdir(), "aide-rel-datasets-"));
  mkdirSync(join(root, "tmp"));
  outside = join(root, "outside");
  mkdirSync(outside);
  writeFileSync(join(outside, "secret.txt"), "do not touch\n");
  for (const cases of Object.values(CASES))
    for (const c of cases)
      for (const [path, route] of Object.entries(c.routes ?? {})) {
        const r =
          route.kind === "redirect"
            ? { ...route, location: route.location.replace("PORT", String(server.port)) }
            : route;
        server.route(path, r);
      }
});

afterAll(async () => {
  await server?.close();
  if (root) rmSync(root, { recursive: true, force: true });
});

let seq = 0;
for (const [group, cases] of Object.entries(CASES)) {
  describe(`hostile data sets: ${group}`, () => {
    it.each(cases.map((c) => [c.what, c] as const))(
      "%s: refused with a clear message, nothing left behind",
      async (_what, c) => {
        const input = join(root, `input-${++seq}`);
        const before = server.requests.length;
        const link = c.link.replace("PORT", String(server.port));
        const err = await fetchDatasets([link], input, options({}, c.download)).then(
          () => null,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(DataError);
        const message = (err as DataError).userMessage;
        expect(message).toMatch(c.expected);
        // One line, no stack, no query string or credentials of the link.
        expect(message).not.toMatch(/\n|hunter2|secret@/);
        expect(walk(input)).toEqual([]);
        expect(readdirSync(join(root, "tmp"))).toEqual([]);
        expect(readdirSync(outside)).toEqual(["secret.txt"]);
        if (c.requests !== undefined) expect(server.requests.length - before).toBe(c.requests);
        if (group.includes("private") && !group.includes("redirect")) expect(server.requests.length - before).toBe(0);
      },
    );
  });
}

describe("hostile data sets that are accepted, safely", () => {
  it("a zip with symbolic links: the links are skipped, never created, the data files arrive", async () => {
    const input = join(root, "input-symlinks");
    server.route("/with-links.zip", {
      kind: "file",
      body: buildZip([
        ...taskZipEntries,
        { name: "passwd", data: "/etc/passwd", mode: 0o120777 },
        { name: "escape", data: outside, mode: 0o120777 },
      ]),
    });
    const summary = await fetchDatasets([`http://data.example.test:${server.port}/with-links.zip`], input, options());
    expect(summary.files).toEqual(["sample_submission.csv", "test.csv", "train.csv"]);
    expect(summary.skipped.join("\n")).toMatch(/passwd \(symbolic link, not extracted\)/);
    expect(walk(input).every((p) => !lstatSync(join(input, p)).isSymbolicLink())).toBe(true);
  });

  it("a tar whose symlink points outside, followed by a file 'through' it: the file stays inside input/", async () => {
    const input = join(root, "input-tar-links");
    const tar = buildTar([
      ...Object.entries(task).map(([name, data]) => ({ name, data })),
      { name: "out", type: "symlink", linkname: outside },
      { name: "out/evil.csv", data: "written through a link\n" },
      { name: "hard", type: "hardlink", linkname: join(outside, "secret.txt") },
      { name: "tty", type: "chardev" },
      { name: "pipe", type: "fifo" },
    ]);
    server.route("/links.tar.gz", { kind: "file", body: gzipSync(tar) });
    const summary = await fetchDatasets([`http://data.example.test:${server.port}/links.tar.gz`], input, options());
    expect(summary.skipped.join("\n")).toMatch(
      /out \(symbolic link.*hard \(hard link.*tty \(special file.*pipe \(special file/s,
    );
    expect(readdirSync(outside)).toEqual(["secret.txt"]);
    expect(readFileSync(join(outside, "secret.txt"), "utf8")).toBe("do not touch\n");
    expect(lstatSync(join(input, "out")).isDirectory()).toBe(true);
    expect(readFileSync(join(input, "out", "evil.csv"), "utf8")).toBe("written through a link\n");
    expect(
      walk(input).every((p) => lstatSync(join(input, p)).isFile() || lstatSync(join(input, p)).isDirectory()),
    ).toBe(true);
  });

  it("nested zips (a bomb inside a zip) are left compressed, never expanded", async () => {
    const input = join(root, "input-nested");
    const inner = buildZip([{ name: "big.csv", data: zeros(40 * MB) }]);
    const middle = buildZip([{ name: "inner.zip", data: inner, method: "store" }]);
    server.route("/nested.zip", {
      kind: "file",
      body: buildZip([...taskZipEntries, { name: "middle.zip", data: middle }]),
    });
    const summary = await fetchDatasets([`http://data.example.test:${server.port}/nested.zip`], input, options());
    expect(summary.files).toContain("middle.zip");
    expect(lstatSync(join(input, "middle.zip")).size).toBe(middle.length);
    expect(summary.totalBytes).toBeLessThan(1 * MB);
  });

  it("a server that declares less than it sends: only the declared bytes are read", async () => {
    const input = join(root, "input-short-declared");
    server.route("/understated.csv", {
      kind: "lying-length",
      declaredLength: 12,
      body: `a,b\n1,2\n${"9,9\n".repeat(300_000)}`,
    });
    const summary = await fetchDatasets([`http://data.example.test:${server.port}/understated.csv`], input, options());
    expect(summary.totalBytes).toBe(12);
    expect(readFileSync(join(input, "understated.csv"), "utf8")).toBe("a,b\n1,2\n9,9\n");
  });

  it("after the whole matrix, a good data set downloads and unpacks (the process is healthy)", async () => {
    const input = join(root, "input-good");
    server.route("/good.zip", { kind: "file", body: buildZip(taskZipEntries) });
    const summary = await fetchDatasets([`http://data.example.test:${server.port}/good.zip`], input, options());
    expect(summary.files).toEqual(["sample_submission.csv", "test.csv", "train.csv"]);
    expect(readFileSync(join(input, "train.csv"), "utf8")).toBe(task["train.csv"]);
    expect(readdirSync(join(root, "tmp"))).toEqual([]);
  });
});
