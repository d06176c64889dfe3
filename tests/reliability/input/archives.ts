/**
 * Hostile archives built byte by byte, so a test controls exactly what an attacker would: entry names (`../x`,
 * absolute paths), entry types (symbolic and hard links, devices), declared sizes that lie, and compression
 * ratios of bombs. Zip (store or deflate, Unix mode bits in the central directory) and ustar tar (optionally
 * gzipped). Also the tiny task the reliability tests run scripts on, and a good script for it.
 */
import { deflateRawSync, gzipSync } from "node:zlib";

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export interface ZipEntry {
  name: string;
  data?: Buffer | string;
  /** Deflate (default) or store. */
  method?: "deflate" | "store";
  /** Unix mode bits, e.g. 0o120777 for a symbolic link (whose data is the target). Default a regular file. */
  mode?: number;
  /** Uncompressed size written in the headers instead of the real one (a lying archive). */
  declaredSize?: number;
}

export function buildZip(entries: ZipEntry[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const raw = Buffer.isBuffer(e.data) ? e.data : Buffer.from(e.data ?? "");
    const method = e.method === "store" ? 0 : 8;
    const body = method === 8 ? deflateRawSync(raw, { level: 9 }) : raw;
    const name = Buffer.from(e.name, "utf8");
    const crc = crc32(raw);
    const size = e.declaredSize ?? raw.length;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x0800, 6); // UTF-8 names
    local.writeUInt16LE(method, 8);
    local.writeUInt16LE(0, 10);
    local.writeUInt16LE(0x21, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28);
    locals.push(local, name, body);

    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE((3 << 8) | 20, 4); // made by Unix: the high 16 bits of the external attributes are the mode
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt16LE(method, 10);
    central.writeUInt16LE(0, 12);
    central.writeUInt16LE(0x21, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(body.length, 20);
    central.writeUInt32LE(size, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(((e.mode ?? 0o100644) << 16) >>> 0, 38);
    central.writeUInt32LE(offset, 42);
    centrals.push(central, name);
    offset += local.length + name.length + body.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

export type TarType = "file" | "dir" | "symlink" | "hardlink" | "chardev" | "fifo";
const TYPE_FLAG: Record<TarType, string> = {
  file: "0",
  dir: "5",
  symlink: "2",
  hardlink: "1",
  chardev: "3",
  fifo: "6",
};

export interface TarEntry {
  name: string;
  type?: TarType;
  data?: Buffer | string;
  /** Target of a link. */
  linkname?: string;
}

function octal(buf: Buffer, value: number, offset: number, length: number): void {
  buf.write(`${value.toString(8).padStart(length - 1, "0")}\0`, offset, length, "latin1");
}

export function buildTar(entries: TarEntry[], opts: { gzip?: boolean } = {}): Buffer {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const data = Buffer.isBuffer(e.data) ? e.data : Buffer.from(e.data ?? "");
    const type = e.type ?? "file";
    const h = Buffer.alloc(512);
    h.write(e.name, 0, 100, "utf8");
    octal(h, type === "dir" ? 0o755 : 0o644, 100, 8);
    octal(h, 0, 108, 8);
    octal(h, 0, 116, 8);
    octal(h, type === "file" ? data.length : 0, 124, 12);
    octal(h, 1_700_000_000, 136, 12);
    h.write(TYPE_FLAG[type], 156, 1, "latin1");
    if (e.linkname) h.write(e.linkname, 157, 100, "utf8");
    h.write("ustar\0", 257, 6, "latin1");
    h.write("00", 263, 2, "latin1");
    h.fill(0x20, 148, 156);
    let sum = 0;
    for (const b of h) sum += b;
    h.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, 8, "latin1");
    blocks.push(h);
    if (type === "file" && data.length) {
      blocks.push(data, Buffer.alloc((512 - (data.length % 512)) % 512));
    }
  }
  blocks.push(Buffer.alloc(1024));
  const tar = Buffer.concat(blocks);
  return opts.gzip ? gzipSync(tar) : tar;
}

/** A small valid task: train.csv, test.csv and sample_submission.csv (ids and a binary target). */
export function tinyTaskFiles(): Record<string, string> {
  const rows = Array.from({ length: 60 }, (_, i) => `${i},${(i * 7) % 13},${(i * 3) % 5},${i % 2}`);
  const test = Array.from({ length: 20 }, (_, i) => `${100 + i},${(i * 5) % 13},${(i * 2) % 5}`);
  return {
    "train.csv": `id,a,b,y\n${rows.join("\n")}\n`,
    "test.csv": `id,a,b\n${test.join("\n")}\n`,
    "sample_submission.csv": `id,y\n${test.map((r) => `${r.split(",")[0]},0`).join("\n")}\n`,
  };
}

/** A working script for tinyTaskFiles (standard library only): predicts the majority class. */
export function tinyTaskScript(): string {
  return `
import csv, json
rows = list(csv.DictReader(open("./input/train.csv")))
ones = sum(int(r["y"]) for r in rows)
guess = 1 if ones * 2 >= len(rows) else 0
acc = sum(int(r["y"]) == guess for r in rows) / len(rows)
ids = [r["id"] for r in csv.DictReader(open("./input/test.csv"))]
with open("./working/submission.csv", "w") as f:
    f.write("id,y\\n" + "".join(f"{i},{guess}\\n" for i in ids))
print("AIDE_METRIC " + json.dumps({"name": "accuracy", "value": acc, "lower_is_better": False}))
`;
}
