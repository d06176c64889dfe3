/**
 * Looking for secrets in everything a run produced: text and bytes, under their usual disguises (raw, base64 at
 * every byte alignment and its URL-safe form, hex, URL-encoding, JSON escaping). Collectors read each store the
 * service writes to (Redis keys of every type, every MongoDB collection, files on disk) into named sources, and
 * the scanner counts the bytes it looked at per source, for the figures of docs/reliability.md.
 */
import { existsSync, lstatSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Redis } from "ioredis";
import type { Connection } from "mongoose";

export interface Secret {
  name: string;
  value: string;
}

export interface Finding {
  secret: string;
  encoding: string;
  source: string;
  /** A few characters around the hit, with the secret itself masked. */
  context: string;
}

/** The forms a secret may take in logs, URLs, JSON, HTTP headers or encoded blobs. */
export function disguises(value: string): Array<{ encoding: string; text: string }> {
  const raw = Buffer.from(value, "utf8");
  const out = [
    { encoding: "raw", text: value },
    { encoding: "hex", text: raw.toString("hex") },
    { encoding: "url-encoded", text: encodeURIComponent(value) },
    { encoding: "json-escaped", text: JSON.stringify(value).slice(1, -1) },
  ];
  // A secret inside a longer base64 blob encodes differently with each offset modulo 3: keep the middle part
  // that does not depend on the bytes around it.
  for (let shift = 0; shift < 3; shift++) {
    const b64 = Buffer.concat([Buffer.alloc(shift, 0x20), raw, Buffer.alloc(3, 0x20)]).toString("base64");
    const middle = b64.slice(shift === 0 ? 0 : 4, -8);
    out.push({ encoding: `base64 (offset ${shift})`, text: middle });
    out.push({ encoding: `base64url (offset ${shift})`, text: middle.replace(/\+/g, "-").replace(/\//g, "_") });
  }
  return out.filter((d, i, all) => d.text.length >= 8 && all.findIndex((o) => o.text === d.text) === i);
}

export class SecretScanner {
  readonly findings: Finding[] = [];
  /** Bytes scanned per source. */
  readonly bytes = new Map<string, number>();
  private readonly patterns: Array<{ secret: string; encoding: string; text: string }>;

  constructor(secrets: Secret[]) {
    this.patterns = secrets.flatMap((s) => disguises(s.value).map((d) => ({ secret: s.name, ...d })));
  }

  get encodings(): number {
    return this.patterns.length;
  }

  totalBytes(): number {
    let n = 0;
    for (const b of this.bytes.values()) n += b;
    return n;
  }

  scan(source: string, content: string | Buffer): void {
    const text = typeof content === "string" ? content : content.toString("latin1");
    const utf8 = typeof content === "string" ? null : content.toString("utf8");
    this.bytes.set(
      source,
      (this.bytes.get(source) ?? 0) + (typeof content === "string" ? Buffer.byteLength(content) : content.length),
    );
    for (const p of this.patterns) {
      for (const hay of utf8 === null ? [text] : [text, utf8]) {
        const at = hay.indexOf(p.text);
        if (at < 0) continue;
        const context = hay
          .slice(Math.max(0, at - 60), at + p.text.length + 60)
          .split(p.text)
          .join("<SECRET>");
        this.findings.push({ secret: p.secret, encoding: p.encoding, source, context });
        break;
      }
    }
  }

  /** Scans a JSON-able value (stringified). */
  scanValue(source: string, value: unknown): void {
    this.scan(
      source,
      JSON.stringify(value, (_k, v) =>
        v && typeof v === "object" && v.type === "Buffer" && Array.isArray(v.data)
          ? Buffer.from(v.data).toString("latin1")
          : v,
      ) ?? "",
    );
  }

  /** Every regular file under a directory (recursively), as `<label>/<relative path>`. */
  scanTree(label: string, dir: string): number {
    let files = 0;
    const walk = (d: string, rel: string) => {
      if (!existsSync(d)) return;
      for (const name of readdirSync(d)) {
        const p = join(d, name);
        const st = lstatSync(p);
        if (st.isDirectory()) walk(p, `${rel}${name}/`);
        else if (st.isFile()) {
          files++;
          this.scan(`${label}`, readFileSync(p));
          // File names can carry secrets too.
          this.scan(`${label} (names)`, `${rel}${name}`);
        }
      }
    };
    walk(dir, "");
    return files;
  }
}

/** Every key in Redis, read according to its type (streams, strings, hashes, lists, sets, sorted sets). */
export async function redisContents(redis: Redis): Promise<{ keys: number; text: string }> {
  const parts: string[] = [];
  let keys = 0;
  let cursor = "0";
  do {
    const [next, batch] = await redis.scan(cursor, "COUNT", 500);
    cursor = next;
    for (const key of batch) {
      keys++;
      const type = await redis.type(key);
      let value: unknown;
      if (type === "string") value = await redis.get(key);
      else if (type === "hash") value = await redis.hgetall(key);
      else if (type === "list") value = await redis.lrange(key, 0, -1);
      else if (type === "set") value = await redis.smembers(key);
      else if (type === "zset") value = await redis.zrange(key, 0, -1, "WITHSCORES");
      else if (type === "stream") value = await redis.xrange(key, "-", "+");
      parts.push(`${key}\t${type}\t${JSON.stringify(value)}`);
    }
  } while (cursor !== "0");
  return { keys, text: parts.join("\n") };
}

/** Every document of every collection of the store's database. */
export async function mongoContents(
  connection: Connection,
): Promise<{ collections: number; documents: number; text: string }> {
  const db = connection.db!;
  const parts: string[] = [];
  let documents = 0;
  const collections = await db.listCollections().toArray();
  for (const c of collections) {
    const docs = await db.collection(c.name).find({}).toArray();
    documents += docs.length;
    parts.push(`${c.name}\t${JSON.stringify(docs)}`);
  }
  return { collections: collections.length, documents, text: parts.join("\n") };
}
