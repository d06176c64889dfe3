/**
 * unpackInto on real files: friendly archives (flattened), and hostile ones built byte by byte here (zip
 * and tar writers below): path traversal, absolute paths, links, device files, bombs, too many files,
 * truncated and garbage input. After every hostile case, nothing may have appeared outside destDir.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { existsSync } from "node:fs";
import { lstat, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { crc32, deflateRawSync, gzipSync } from "node:zlib";
import { create as tarCreate } from "tar";
import { DataError } from "../../../src/errors.ts";
import { unpackInto, type UnpackLimits } from "../../../src/workspace/unpack.ts";

// ----------------------------------------------------------------------------------------------- builders

interface ZipItem {
  name: string;
  data?: Buffer | string;
  /** 0 stored, 8 deflate (default 8 for files). */
  method?: number;
  /** Unix mode incl. file type bits, stored in the external attributes. */
  unixMode?: number;
  /** Lie about the uncompressed size in both headers. */
  declaredSize?: number;
  /** Replace the compressed bytes. */
  rawCompressed?: Buffer;
}

function buildZip(items: ZipItem[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const item of items) {
    const name = Buffer.from(item.name, "utf8");
    const data = Buffer.isBuffer(item.data) ? item.data : Buffer.from(item.data ?? "");
    const method = item.method ?? (item.name.endsWith("/") ? 0 : 8);
    const comp = item.rawCompressed ?? (method === 8 ? deflateRawSync(data) : data);
    const crc = crc32(data);
    const size = item.declaredSize ?? data.length;
    const flags = 0x0800;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(flags, 6);
    local.writeUInt16LE(method, 8);
    local.writeUInt16LE(0, 10);
    local.writeUInt16LE(0x21, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(comp.length, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE((3 << 8) | 20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(flags, 8);
    central.writeUInt16LE(method, 10);
    central.writeUInt16LE(0, 12);
    central.writeUInt16LE(0x21, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(comp.length, 20);
    central.writeUInt32LE(size, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(((item.unixMode ?? (item.name.endsWith("/") ? 0o040755 : 0o100644)) << 16) >>> 0, 38);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, comp);
    centrals.push(central, name);
    offset += local.length + name.length + comp.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(items.length, 8);
  end.writeUInt16LE(items.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

interface TarItem {
  name: string;
  data?: Buffer | string;
  /** '0' file, '1' hard link, '2' symlink, '3' char device, '5' directory, '6' FIFO. */
  type?: string;
  linkname?: string;
  /** Declared size when different from the data (only for tests that lie). */
  size?: number;
}

function octal(n: number, width: number): string {
  return n.toString(8).padStart(width, "0");
}

function tarHeader(item: TarItem, size: number): Buffer {
  const h = Buffer.alloc(512);
  h.write(item.name, 0, 100, "utf8");
  h.write(`${octal(item.type === "5" ? 0o755 : 0o644, 7)}\0`, 100, "latin1");
  h.write(`${octal(0, 7)}\0`, 108, "latin1");
  h.write(`${octal(0, 7)}\0`, 116, "latin1");
  h.write(`${octal(size, 11)}\0`, 124, "latin1");
  h.write(`${octal(0, 11)}\0`, 136, "latin1");
  h.write("        ", 148, "latin1");
  h.write(item.type ?? "0", 156, "latin1");
  if (item.linkname) h.write(item.linkname, 157, 100, "utf8");
  h.write("ustar\0", 257, "latin1");
  h.write("00", 263, "latin1");
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${octal(sum, 6)}\0 `, 148, "latin1");
  return h;
}

function buildTar(items: TarItem[]): Buffer {
  const parts: Buffer[] = [];
  for (const item of items) {
    const data = Buffer.isBuffer(item.data) ? item.data : Buffer.from(item.data ?? "");
    parts.push(tarHeader(item, item.size ?? data.length), data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

// ----------------------------------------------------------------------------------------------- harness

let root: string;
let dest: string;
const limits: UnpackLimits = { maxFiles: 100, maxTotalBytes: 10 * 1024 * 1024, maxRatio: 100 };

async function listTree(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      out.push(`${relative(root, p)}${e.isDirectory() ? "/" : e.isSymbolicLink() ? "@" : ""}`);
      if (e.isDirectory()) await walk(p);
    }
  };
  await walk(dir);
  return out.sort();
}

async function archive(name: string, bytes: Buffer | string): Promise<string> {
  const p = join(root, name);
  await writeFile(p, bytes);
  return p;
}

/** Expects unpackInto to fail with a DataError and leave the whole tree (dest included) untouched. */
async function expectRefused(archivePath: string, pattern: RegExp, lim: UnpackLimits = limits): Promise<DataError> {
  const before = await listTree(root);
  let error: unknown;
  try {
    await unpackInto(archivePath, dest, lim);
  } catch (err) {
    error = err;
  }
  expect(error, "unpackInto should have failed").toBeInstanceOf(DataError);
  expect((error as DataError).userMessage).toMatch(pattern);
  expect(await listTree(root)).toEqual(before);
  expect(await readdir(dest)).toEqual([]);
  return error as DataError;
}

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "aide-unpack-test-"));
  dest = join(root, "input");
  await mkdir(dest);
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

// ----------------------------------------------------------------------------------------------- tests

describe("unpackInto: friendly archives", () => {
  it("unpacks a zip holding one folder straight into destDir, skipping macOS junk", async () => {
    const zip = await archive(
      "data.zip",
      buildZip([
        { name: "dataset/" },
        { name: "dataset/train.csv", data: "id,y\n1,0\n" },
        { name: "dataset/test.csv", data: "id\n2\n" },
        { name: "dataset/images/a.txt", data: "hello" },
        { name: "dataset/.DS_Store", data: "junk" },
        { name: "__MACOSX/dataset/._train.csv", data: "junk" },
      ]),
    );
    const r = await unpackInto(zip, dest, limits);
    expect(r.kind).toBe("zip");
    expect(r.flattened).toBe("dataset");
    expect(r.files).toEqual(["images/a.txt", "test.csv", "train.csv"]);
    expect(r.bytes).toBe(9 + 5 + 5);
    expect(await readFile(join(dest, "train.csv"), "utf8")).toBe("id,y\n1,0\n");
    expect(await listTree(dest)).toEqual(["input/images/", "input/images/a.txt", "input/test.csv", "input/train.csv"]);
  });

  it("keeps a zip with several top-level entries as it is", async () => {
    const zip = await archive(
      "two.zip",
      buildZip([
        { name: "train.csv", data: "a\n" },
        { name: "extra/notes.txt", data: "n" },
      ]),
    );
    const r = await unpackInto(zip, dest, limits);
    expect(r.flattened).toBeNull();
    expect(r.files).toEqual(["extra/notes.txt", "train.csv"]);
  });

  it("unpacks a tar.gz made by node-tar, flattening its single folder", async () => {
    const src = join(root, "src");
    await mkdir(join(src, "comp"), { recursive: true });
    await writeFile(join(src, "comp", "train.csv"), "a,b\n1,2\n");
    await writeFile(join(src, "comp", "sample_submission.csv"), "id,b\n");
    const tgz = join(root, "comp.tgz");
    await tarCreate({ gzip: true, file: tgz, cwd: src }, ["comp"]);
    await rm(src, { recursive: true });
    const r = await unpackInto(tgz, dest, limits);
    expect(r.kind).toBe("tar.gz");
    expect(r.flattened).toBe("comp");
    expect(r.files).toEqual(["sample_submission.csv", "train.csv"]);
    expect(await readFile(join(dest, "train.csv"), "utf8")).toBe("a,b\n1,2\n");
  });

  it("unpacks a plain tar", async () => {
    const tar = await archive(
      "plain.tar",
      buildTar([
        { name: "x/", type: "5" },
        { name: "x/a.csv", data: "1\n" },
        { name: "b.csv", data: "2\n" },
      ]),
    );
    const r = await unpackInto(tar, dest, limits);
    expect(r.kind).toBe("tar");
    expect(r.files).toEqual(["b.csv", "x/a.csv"]);
  });

  it("copies a single csv, and moves it when asked", async () => {
    const csv = await archive("train.csv", "id,y\n1,0\n");
    const r = await unpackInto(csv, dest, limits);
    expect(r).toEqual({ kind: "file", files: ["train.csv"], bytes: 9, skipped: [], flattened: null });
    expect(existsSync(csv)).toBe(true);
    const other = await archive("tmp-download", "a\n");
    const moved = await unpackInto(other, dest, limits, { name: "test.csv", move: true });
    expect(moved.files).toEqual(["test.csv"]);
    expect(existsSync(other)).toBe(false);
  });

  it("gunzips a single gzipped csv", async () => {
    const gz = await archive("train.csv.gz", gzipSync(Buffer.from("id,y\n1,0\n")));
    const r = await unpackInto(gz, dest, limits);
    expect(r.kind).toBe("gzip");
    expect(r.files).toEqual(["train.csv"]);
    expect(await readFile(join(dest, "train.csv"), "utf8")).toBe("id,y\n1,0\n");
  });

  it("leaves nested archives and zip-based data formats as files", async () => {
    const inner = buildZip([{ name: "deep.csv", data: "1\n" }]);
    const zip = await archive(
      "outer.zip",
      buildZip([
        { name: "inner.zip", data: inner },
        { name: "train.csv", data: "a\n" },
      ]),
    );
    const r = await unpackInto(zip, dest, limits);
    expect(r.files).toEqual(["inner.zip", "train.csv"]);
    const npz = await archive("arrays.npz", buildZip([{ name: "x.npy", data: "fake" }]));
    expect((await unpackInto(npz, dest, limits)).kind).toBe("file");
  });

  it("refuses a top-level name that already exists in destDir, leaving it untouched", async () => {
    await writeFile(join(dest, "train.csv"), "original");
    const zip = await archive(
      "data.zip",
      buildZip([
        { name: "d/train.csv", data: "new" },
        { name: "d/other.csv", data: "o" },
      ]),
    );
    await expect(unpackInto(zip, dest, limits)).rejects.toThrow(
      /contains train\.csv, but the data directory already has something with that name/,
    );
    expect(await readFile(join(dest, "train.csv"), "utf8")).toBe("original");
    expect(await readdir(dest)).toEqual(["train.csv"]);
  });

  it("counts files and bytes already used by earlier data sets", async () => {
    const zip = await archive("data.zip", buildZip([{ name: "a.csv", data: "1234567890" }]));
    await expect(
      unpackInto(zip, dest, { maxFiles: 5, maxTotalBytes: 100 }, { used: { files: 5, bytes: 0 } }),
    ).rejects.toThrow(/more than 5 files/);
    await expect(
      unpackInto(zip, dest, { maxFiles: 5, maxTotalBytes: 100 }, { used: { files: 0, bytes: 95 } }),
    ).rejects.toThrow(/beyond the 100 bytes limit/);
  });
});

describe("unpackInto: hostile archives", () => {
  it("refuses zip path traversal", async () => {
    const zip = await archive(
      "evil.zip",
      buildZip([
        { name: "ok.csv", data: "1" },
        { name: "../evil.csv", data: "pwned" },
      ]),
    );
    await expectRefused(zip, /^evil\.zip: archive entry \.\.\/evil\.csv escapes the data directory\.$/);
    const deep = await archive("deep.zip", buildZip([{ name: "a/../../../etc/passwd", data: "x" }]));
    await expectRefused(deep, /escapes the data directory/);
    const back = await archive("back.zip", buildZip([{ name: "..\\..\\evil.csv", data: "x" }]));
    await expectRefused(back, /escapes the data directory/);
  });

  it("refuses zip absolute paths", async () => {
    const target = join(tmpdir(), `aide-evil-${process.pid}-${Date.now()}.csv`);
    const zip = await archive("abs.zip", buildZip([{ name: target, data: "pwned" }]));
    await expectRefused(zip, /escapes the data directory \(absolute path\)/);
    expect(existsSync(target)).toBe(false);
  });

  it("refuses tar path traversal and absolute paths (plain and gzipped)", async () => {
    const target = join(tmpdir(), `aide-evil-${process.pid}-${Date.now()}.csv`);
    const t1 = await archive(
      "evil.tar",
      buildTar([
        { name: "ok.csv", data: "1" },
        { name: "../../evil.csv", data: "pwned" },
      ]),
    );
    await expectRefused(t1, /archive entry \.\.\/\.\.\/evil\.csv escapes the data directory/);
    const t2 = await archive("abs.tar.gz", gzipSync(buildTar([{ name: target, data: "pwned" }])));
    await expectRefused(t2, /escapes the data directory \(absolute path\)/);
    expect(existsSync(target)).toBe(false);
  });

  it("skips symlink entries in a zip and never follows them", async () => {
    const zip = await archive(
      "links.zip",
      buildZip([
        { name: "passwd", data: "/etc/passwd", unixMode: 0o120777, method: 0 },
        { name: "train.csv", data: "a\n" },
      ]),
    );
    const r = await unpackInto(zip, dest, limits);
    expect(r.files).toEqual(["train.csv"]);
    expect(r.skipped).toEqual(["passwd (symbolic link, not extracted)"]);
    await expect(lstat(join(dest, "passwd"))).rejects.toThrow();
    expect(await listTree(root)).toEqual(["input/", "input/train.csv", "links.zip"]);
  });

  it("skips tar symlinks, hard links and devices; a later file 'through' the link stays inside", async () => {
    const tar = await archive(
      "links.tar.gz",
      gzipSync(
        buildTar([
          { name: "escape", type: "2", linkname: ".." },
          { name: "passwd", type: "2", linkname: "/etc/passwd" },
          { name: "hard", type: "1", linkname: "/etc/passwd" },
          { name: "dev", type: "3" },
          { name: "fifo", type: "6" },
          { name: "escape/evil.csv", data: "inside" },
          { name: "passwd", data: "overwrite?" },
        ]),
      ),
    );
    const r = await unpackInto(tar, dest, limits);
    expect(r.skipped).toEqual([
      "escape (symbolic link, not extracted)",
      "passwd (symbolic link, not extracted)",
      "hard (hard link, not extracted)",
      "dev (special file, not extracted)",
      "fifo (special file, not extracted)",
    ]);
    expect(r.files).toEqual(["escape/evil.csv", "passwd"]);
    expect(await listTree(root)).toEqual([
      "input/",
      "input/escape/",
      "input/escape/evil.csv",
      "input/passwd",
      "links.tar.gz",
    ]);
    expect((await lstat(join(dest, "passwd"))).isFile()).toBe(true);
    expect(await readFile("/etc/passwd", "utf8")).not.toContain("overwrite?");
  });

  it("refuses an archive holding only links", async () => {
    const tar = await archive("only.tar", buildTar([{ name: "passwd", type: "2", linkname: "/etc/passwd" }]));
    await expectRefused(tar, /contains no data files \(skipped: passwd \(symbolic link, not extracted\)\)/);
  });

  it("refuses a zip bomb by its declared size", async () => {
    const zeros = Buffer.alloc(50 * 1024 * 1024);
    const zip = await archive("bomb.zip", buildZip([{ name: "bomb.csv", data: zeros }]));
    await expectRefused(zip, /^bomb\.zip: archive expands beyond the 10 MB limit\.$/);
  });

  it("catches a zip bomb that lies about its size in the headers", async () => {
    const zeros = Buffer.alloc(50 * 1024 * 1024);
    const zip = await archive("liar.zip", buildZip([{ name: "small.csv", data: zeros, declaredSize: 1000 }]));
    await expectRefused(zip, /liar\.zip: (archive entry small\.csv is damaged|archive expands beyond)/);
  });

  it("catches bytes beyond the limit even when every entry is small on its own", async () => {
    const chunk = Buffer.alloc(3 * 1024 * 1024, 0x61);
    const zip = await archive(
      "many.zip",
      buildZip([1, 2, 3, 4, 5].map((i) => ({ name: `part${i}.csv`, data: chunk }))),
    );
    await expectRefused(zip, /archive expands beyond the 10 MB limit/);
  });

  it("refuses a compression ratio beyond the limit", async () => {
    const zeros = Buffer.alloc(40 * 1024 * 1024);
    const zip = await archive("ratio.zip", buildZip([{ name: "zeros.csv", data: zeros }]));
    await expectRefused(zip, /archive entry zeros\.csv expands more than 100 times/, {
      maxFiles: 10,
      maxTotalBytes: 1024 ** 3,
      maxRatio: 100,
    });
  });

  it("refuses a tar.gz bomb, by header size and by stream size", async () => {
    const big = await archive(
      "big.tar.gz",
      gzipSync(buildTar([{ name: "zeros.csv", data: Buffer.alloc(30 * 1024 * 1024) }])),
    );
    await expectRefused(big, /archive expands beyond the 10 MB limit/);
    // A huge (ignored) pax header is consumed by the parser, never written: the stream bound stops it.
    const pax = await archive(
      "pax.tar.gz",
      gzipSync(buildTar([{ name: "PaxHeader", type: "x", data: Buffer.alloc(100 * 1024 * 1024) }])),
    );
    await expectRefused(pax, /archive expands (beyond the 10 MB limit|more than 100 times)/);
    // A gzip of nothing but zeros (no entries at all) must not be decompressed forever.
    const zeros = await archive("zeros.tar.gz", gzipSync(Buffer.alloc(200 * 1024 * 1024)));
    const t0 = Date.now();
    await expectRefused(zeros, /the archive is damaged or truncated/);
    expect(Date.now() - t0).toBeLessThan(3_000);
  });

  it("ignores (and does not decompress) data after the end-of-archive marker", async () => {
    const tar = buildTar([{ name: "train.csv", data: "a\n" }]);
    const tgz = await archive("trailing.tar.gz", gzipSync(Buffer.concat([tar, Buffer.alloc(200 * 1024 * 1024)])));
    const t0 = Date.now();
    const r = await unpackInto(tgz, dest, limits);
    expect(r.files).toEqual(["train.csv"]);
    expect(Date.now() - t0).toBeLessThan(3_000);
  });

  it("refuses too many files (zip and tar)", async () => {
    const items = Array.from({ length: 20 }, (_, i) => ({ name: `f${i}.csv`, data: "1\n" }));
    const zip = await archive("many.zip", buildZip(items));
    await expectRefused(zip, /archive holds more than 10 files/, { maxFiles: 10, maxTotalBytes: 1e9 });
    const tar = await archive("many.tar", buildTar(items));
    await expectRefused(tar, /archive holds more than 10 files/, { maxFiles: 10, maxTotalBytes: 1e9 });
  });

  it("refuses duplicate entries", async () => {
    const zip = await archive(
      "dup.zip",
      buildZip([
        { name: "a.csv", data: "1" },
        { name: "a.csv", data: "2" },
      ]),
    );
    await expectRefused(zip, /archive contains a\.csv twice/);
    const clash = await archive(
      "clash.tar",
      buildTar([
        { name: "a", data: "file" },
        { name: "a/b.csv", data: "2" },
      ]),
    );
    await expectRefused(clash, /archive entry a conflicts with a file of the same name/);
  });

  it("refuses truncated and corrupted archives without crashing or hanging", async () => {
    const good = buildZip([
      { name: "train.csv", data: Buffer.alloc(200_000, 0x61) },
      { name: "test.csv", data: "x" },
    ]);
    const half = await archive("half.zip", good.subarray(0, Math.floor(good.length / 2)));
    await expectRefused(half, /^half\.zip: the zip file is damaged or truncated\.$/);
    const corrupt = await archive(
      "corrupt.zip",
      buildZip([{ name: "a.csv", data: "hello", rawCompressed: Buffer.from([0xff, 0xff, 0xff, 0xff]) }]),
    );
    await expectRefused(corrupt, /corrupt\.zip: archive entry a\.csv is damaged/);

    const tar = buildTar([{ name: "train.csv", data: Buffer.alloc(100_000, 0x61) }]);
    const cutTar = await archive("cut.tar", tar.subarray(0, 20_000));
    await expectRefused(cutTar, /cut\.tar: (the archive is damaged or truncated|archive entry train\.csv is damaged)/);
    const tgz = gzipSync(tar);
    const cutTgz = await archive("cut.tar.gz", tgz.subarray(0, Math.floor(tgz.length / 2)));
    await expectRefused(
      cutTgz,
      /cut\.tar\.gz: (the archive is damaged or truncated|archive entry train\.csv is damaged)/,
    );
    const cutGz = await archive("cut.csv.gz", gzipSync(Buffer.alloc(100_000, 0x61)).subarray(0, 30));
    await expectRefused(cutGz, /cut\.csv\.gz: the gzip data is damaged or truncated/);
  });

  it("refuses garbage, empty files, web pages and unsupported formats", async () => {
    const garbage = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 256));
    await expectRefused(await archive("garbage.zip", garbage), /^garbage\.zip is not a zip, tar or csv file\.$/);
    await expectRefused(await archive("empty.csv", ""), /^empty\.csv is empty\.$/);
    await expectRefused(
      await archive("page.zip", "<!DOCTYPE html><html><body>Sign in</body></html>"),
      /page\.zip is a web page/,
    );
    await expectRefused(
      await archive("data.7z", Buffer.from([0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c, 0, 4])),
      /7z archive, which is not supported/,
    );
  });

  it("never leaves a staging directory behind", async () => {
    const zip = await archive(
      "evil.zip",
      buildZip([
        { name: "ok.csv", data: "1" },
        { name: "../evil.csv", data: "x" },
      ]),
    );
    await expect(unpackInto(zip, dest, limits)).rejects.toThrow(DataError);
    const ok = await archive("ok.zip", buildZip([{ name: "ok.csv", data: "1" }]));
    await unpackInto(ok, dest, limits);
    expect(await readdir(dest)).toEqual(["ok.csv"]);
    expect((await stat(join(dest, "ok.csv"))).mode & 0o777).toBe(0o644);
  });
});
