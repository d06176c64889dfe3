/**
 * The storage engine behind the embedded MongoDB-protocol server (see src/store/README.md).
 *
 * smartmongo 2.2.0's `CongoServer` brings the wire protocol and the query/update/aggregation engines; its own
 * storage adapters key documents by `ObjectId.toHexString()` and so refuse any other `_id` (a string run id
 * fails with "input must be a 24 character hex string"), enforce no unique secondary index, and persist as plain
 * JSON (Dates come back as strings). This adapter replaces them:
 *
 * - any BSON value as `_id` (strings, numbers, ObjectIds, sub-documents);
 * - unique indexes enforced on every insert and update (E11000 `DuplicateKey`, as MongoDB answers), sparse honoured;
 * - durability: every mutation is appended synchronously to `<dir>/journal.ejsonl` (canonical Extended JSON, so
 *   Dates, ObjectIds, Longs survive) before the command answers; on start the snapshot `<dir>/snapshot.ejson` is
 *   loaded, the journal replayed (a torn last line is dropped) and both compacted into a new snapshot.
 *
 * Every method does its work synchronously (the returned promises are already settled) and the journal is written
 * with `appendFileSync`, so one command runs to completion before the server reads the next socket: a
 * findAndModify or an upsert is atomic, as on MongoDB.
 */
import {
  appendFileSync,
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { plugins } from "@push.rocks/smartmongo/dist_ts/congodb/index.js";

const { EJSON, ObjectId } = plugins.bson;

// Documents are plain BSON-deserialised objects here, any field any BSON value (the congodb types are ObjectId-only).
type Doc = Record<string, unknown>;

export interface IndexSpec {
  name: string;
  /** Field path -> 1, -1 or an index type such as "text". */
  key: Record<string, unknown>;
  unique?: boolean;
  sparse?: boolean;
  expireAfterSeconds?: number;
  partialFilterExpression?: Doc;
}

interface Collection {
  docs: Map<string, Doc>;
  indexes: IndexSpec[];
}

type JournalEntry =
  | { op: "put"; db: string; c: string; doc: Doc }
  | { op: "del"; db: string; c: string; id: unknown }
  | { op: "createColl"; db: string; c: string }
  | { op: "dropColl"; db: string; c: string }
  | { op: "dropDb"; db: string }
  | { op: "rename"; db: string; from: string; to: string }
  | { op: "index"; db: string; c: string; spec: IndexSpec }
  | { op: "dropIndex"; db: string; c: string; name: string };

/**
 * How the snapshot and the journal are read back. Relaxed: numbers come back as JS numbers (and Dates as Dates),
 * as the wire protocol hands them to the engines. Canonical parsing would leave Int32/Double wrapper objects in
 * the documents, which the update engine copies into plain `{ value: n }` objects: every number of a document
 * updated after a restart was corrupted that way.
 */
const LOAD_OPTIONS = { relaxed: true } as const;

/** Journal lines after which the journal is folded into a new snapshot. */
const COMPACT_AFTER = 20_000;

export class DuplicateKeyError extends Error {
  readonly code = 11000;
  readonly codeName = "DuplicateKey";
}

/** A stable map key for any `_id` value. */
export function idKey(id: unknown): string {
  if (id instanceof ObjectId) return `o:${id.toHexString()}`;
  if (typeof id === "string") return `s:${id}`;
  if (typeof id === "number") return `n:${id}`;
  return `j:${EJSON.stringify(id as Doc, { relaxed: false })}`;
}

function getPath(doc: Doc, path: string): unknown {
  let cur: unknown = doc;
  for (const part of path.split(".")) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Doc)[part];
  }
  return cur;
}

/** The index key of `doc` as a comparable string, or null when a sparse index skips it. */
function indexKeyOf(doc: Doc, spec: IndexSpec): string | null {
  const fields = Object.keys(spec.key);
  const values = fields.map((f) => getPath(doc, f));
  if (spec.sparse && values.every((v) => v === undefined)) return null;
  // A missing field indexes as null, as on MongoDB.
  return EJSON.stringify(values.map((v) => (v === undefined ? null : v)) as unknown as Doc, { relaxed: false });
}

export class EmbeddedStorage {
  private readonly dbs = new Map<string, Map<string, Collection>>();
  private readonly dir: string | null;
  private journalLines = 0;
  private initialized = false;

  /** `dir` null: memory only. */
  constructor(dir: string | null) {
    this.dir = dir;
  }

  get persistent(): boolean {
    return this.dir !== null;
  }

  private get snapshotFile(): string {
    return join(this.dir!, "snapshot.ejson");
  }

  private get journalFile(): string {
    return join(this.dir!, "journal.ejsonl");
  }

  // ---------------------------------------------------------------- life cycle

  async initialize(): Promise<void> {
    if (this.initialized) return;
    this.initialized = true;
    if (!this.dir) return;
    mkdirSync(this.dir, { recursive: true });
    if (existsSync(this.snapshotFile)) {
      const snap = EJSON.parse(readFileSync(this.snapshotFile, "utf8"), LOAD_OPTIONS) as {
        dbs: Record<string, Record<string, { docs: Doc[]; indexes: IndexSpec[] }>>;
      };
      for (const [db, colls] of Object.entries(snap.dbs)) {
        for (const [c, coll] of Object.entries(colls)) {
          const target = this.coll(db, c, true);
          target.indexes = coll.indexes;
          for (const doc of coll.docs) target.docs.set(idKey(doc._id), doc);
        }
      }
    }
    if (existsSync(this.journalFile)) {
      const lines = readFileSync(this.journalFile, "utf8").split("\n");
      for (const line of lines) {
        if (!line.trim()) continue;
        let entry: JournalEntry;
        try {
          entry = EJSON.parse(line, LOAD_OPTIONS) as JournalEntry;
        } catch {
          break; // a torn write at the end (the process died mid-append): everything before it is intact
        }
        this.apply(entry);
      }
    }
    this.compact();
  }

  async close(): Promise<void> {
    if (this.dir && this.initialized) this.compact();
  }

  /** Writes the whole state as a new snapshot (atomically, via rename) and empties the journal. */
  compact(): void {
    if (!this.dir) return;
    const dbs: Record<string, Record<string, { docs: Doc[]; indexes: IndexSpec[] }>> = {};
    for (const [db, colls] of this.dbs) {
      dbs[db] = {};
      for (const [c, coll] of colls) dbs[db][c] = { docs: [...coll.docs.values()], indexes: coll.indexes };
    }
    const tmp = `${this.snapshotFile}.tmp`;
    const fd = openSync(tmp, "w");
    try {
      writeSync(fd, EJSON.stringify({ dbs } as Doc, { relaxed: false }));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.snapshotFile);
    writeFileSync(this.journalFile, "");
    this.journalLines = 0;
  }

  private log(entry: JournalEntry): void {
    this.apply(entry);
    if (!this.dir) return;
    appendFileSync(this.journalFile, `${EJSON.stringify(entry as unknown as Doc, { relaxed: false })}\n`);
    if (++this.journalLines >= COMPACT_AFTER) this.compact();
  }

  private apply(e: JournalEntry): void {
    switch (e.op) {
      case "put":
        this.coll(e.db, e.c, true).docs.set(idKey(e.doc._id), e.doc);
        break;
      case "del":
        this.coll(e.db, e.c, true).docs.delete(idKey(e.id));
        break;
      case "createColl":
        this.coll(e.db, e.c, true);
        break;
      case "dropColl":
        this.dbs.get(e.db)?.delete(e.c);
        break;
      case "dropDb":
        this.dbs.delete(e.db);
        break;
      case "rename": {
        const db = this.dbs.get(e.db);
        const coll = db?.get(e.from);
        if (db && coll) {
          db.delete(e.from);
          db.set(e.to, coll);
        }
        break;
      }
      case "index": {
        const coll = this.coll(e.db, e.c, true);
        coll.indexes = [...coll.indexes.filter((i) => i.name !== e.spec.name), e.spec];
        break;
      }
      case "dropIndex": {
        const coll = this.coll(e.db, e.c, true);
        coll.indexes = coll.indexes.filter((i) => i.name !== e.name);
        break;
      }
    }
  }

  private coll(db: string, c: string, create: true): Collection;
  private coll(db: string, c: string, create: false): Collection | undefined;
  private coll(db: string, c: string, create: boolean): Collection | undefined {
    let colls = this.dbs.get(db);
    if (!colls) {
      if (!create) return undefined;
      colls = new Map();
      this.dbs.set(db, colls);
    }
    let coll = colls.get(c);
    if (!coll && create) {
      coll = { docs: new Map(), indexes: [{ name: "_id_", key: { _id: 1 } }] };
      colls.set(c, coll);
    }
    return coll;
  }

  private ensureColl(db: string, c: string): Collection {
    const existing = this.coll(db, c, false);
    if (existing) return existing;
    this.log({ op: "createColl", db, c });
    return this.coll(db, c, true);
  }

  /** Throws E11000 when `doc` would collide with another document on `_id` or a unique index. */
  private checkUnique(db: string, c: string, coll: Collection, doc: Doc, replacing: string | null): void {
    const key = idKey(doc._id);
    if (key !== replacing && coll.docs.has(key)) {
      throw new DuplicateKeyError(
        `E11000 duplicate key error collection: ${db}.${c} index: _id_ dup key: { _id: ${EJSON.stringify({ v: doc._id }, { relaxed: true })} }`,
      );
    }
    for (const spec of coll.indexes) {
      if (!spec.unique || spec.name === "_id_") continue;
      const mine = indexKeyOf(doc, spec);
      if (mine === null) continue;
      for (const [otherKey, other] of coll.docs) {
        if (otherKey === key || otherKey === replacing) continue;
        if (indexKeyOf(other, spec) === mine) {
          throw new DuplicateKeyError(
            `E11000 duplicate key error collection: ${db}.${c} index: ${spec.name} dup key: ${mine}`,
          );
        }
      }
    }
  }

  // ---------------------------------------------------------------- databases and collections

  async listDatabases(): Promise<string[]> {
    return [...this.dbs.keys()];
  }

  async createDatabase(db: string): Promise<void> {
    if (!this.dbs.has(db)) this.dbs.set(db, new Map());
  }

  async dropDatabase(db: string): Promise<boolean> {
    if (!this.dbs.has(db)) return false;
    this.log({ op: "dropDb", db });
    return true;
  }

  async databaseExists(db: string): Promise<boolean> {
    return this.dbs.has(db);
  }

  async listCollections(db: string): Promise<string[]> {
    return [...(this.dbs.get(db)?.keys() ?? [])];
  }

  async createCollection(db: string, c: string): Promise<void> {
    this.ensureColl(db, c);
  }

  async dropCollection(db: string, c: string): Promise<boolean> {
    if (!this.coll(db, c, false)) return false;
    this.log({ op: "dropColl", db, c });
    return true;
  }

  async collectionExists(db: string, c: string): Promise<boolean> {
    return this.coll(db, c, false) !== undefined;
  }

  async renameCollection(db: string, from: string, to: string): Promise<void> {
    if (!this.coll(db, from, false))
      throw Object.assign(new Error(`ns not found: ${db}.${from}`), { code: 26, codeName: "NamespaceNotFound" });
    if (this.coll(db, to, false))
      throw Object.assign(new Error(`target namespace exists: ${db}.${to}`), { code: 48, codeName: "NamespaceExists" });
    this.log({ op: "rename", db, from, to });
  }

  // ---------------------------------------------------------------- documents

  async insertOne(db: string, c: string, doc: Doc): Promise<Doc> {
    const coll = this.ensureColl(db, c);
    const stored: Doc = doc._id === undefined ? { _id: new ObjectId(), ...doc } : { ...doc };
    this.checkUnique(db, c, coll, stored, null);
    this.log({ op: "put", db, c, doc: stored });
    return stored;
  }

  async insertMany(db: string, c: string, docs: Doc[]): Promise<Doc[]> {
    const out: Doc[] = [];
    for (const doc of docs) out.push(await this.insertOne(db, c, doc));
    return out;
  }

  async findAll(db: string, c: string): Promise<Doc[]> {
    return [...(this.coll(db, c, false)?.docs.values() ?? [])];
  }

  async findById(db: string, c: string, id: unknown): Promise<Doc | null> {
    return this.coll(db, c, false)?.docs.get(idKey(id)) ?? null;
  }

  async updateById(db: string, c: string, id: unknown, doc: Doc): Promise<boolean> {
    const coll = this.coll(db, c, false);
    const key = idKey(id);
    if (!coll?.docs.has(key)) return false;
    const stored: Doc = { ...doc, _id: doc._id ?? id };
    if (idKey(stored._id) !== key) {
      throw Object.assign(new Error("Performing an update on the path '_id' would modify the immutable field '_id'"), {
        code: 66,
        codeName: "ImmutableField",
      });
    }
    this.checkUnique(db, c, coll, stored, key);
    this.log({ op: "put", db, c, doc: stored });
    return true;
  }

  async deleteById(db: string, c: string, id: unknown): Promise<boolean> {
    const coll = this.coll(db, c, false);
    if (!coll?.docs.has(idKey(id))) return false;
    this.log({ op: "del", db, c, id });
    return true;
  }

  async deleteByIds(db: string, c: string, ids: unknown[]): Promise<number> {
    let n = 0;
    for (const id of ids) if (await this.deleteById(db, c, id)) n++;
    return n;
  }

  async count(db: string, c: string): Promise<number> {
    return this.coll(db, c, false)?.docs.size ?? 0;
  }

  // ---------------------------------------------------------------- indexes

  async getIndexes(db: string, c: string): Promise<IndexSpec[]> {
    return [...(this.coll(db, c, false)?.indexes ?? [])];
  }

  /**
   * Creates (or confirms) an index. Same name and key: no-op. Same name, other key or options: IndexOptionsConflict.
   * A unique index over documents that already collide: E11000, and the index is not created.
   */
  createIndex(db: string, c: string, spec: IndexSpec): { created: boolean } {
    const coll = this.ensureColl(db, c);
    const same = coll.indexes.find((i) => i.name === spec.name);
    if (same) {
      if (
        JSON.stringify(same.key) === JSON.stringify(spec.key) &&
        !!same.unique === !!spec.unique &&
        !!same.sparse === !!spec.sparse
      ) {
        return { created: false };
      }
      throw Object.assign(new Error(`An existing index has the same name as the requested index: ${spec.name}`), {
        code: 86,
        codeName: "IndexKeySpecsConflict",
      });
    }
    if (spec.unique) {
      const seen = new Set<string>();
      for (const doc of coll.docs.values()) {
        const k = indexKeyOf(doc, spec);
        if (k === null) continue;
        if (seen.has(k))
          throw new DuplicateKeyError(
            `E11000 duplicate key error collection: ${db}.${c} index: ${spec.name} dup key: ${k}`,
          );
        seen.add(k);
      }
    }
    this.log({ op: "index", db, c, spec });
    return { created: true };
  }

  async saveIndex(db: string, c: string, name: string, spec: Omit<IndexSpec, "name">): Promise<void> {
    this.createIndex(db, c, { ...spec, name });
  }

  async dropIndex(db: string, c: string, name: string): Promise<boolean> {
    const coll = this.coll(db, c, false);
    if (!coll || name === "_id_" || !coll.indexes.some((i) => i.name === name)) return false;
    this.log({ op: "dropIndex", db, c, name });
    return true;
  }

  // ---------------------------------------------------------------- oplog and transactions: not supported

  async appendOpLog(): Promise<void> {}

  async getOpLogAfter(): Promise<never[]> {
    return [];
  }

  async getLatestOpLogTimestamp(): Promise<null> {
    return null;
  }

  async createSnapshot(db: string, c: string): Promise<Doc[]> {
    return (await this.findAll(db, c)).map((d) => ({ ...d }));
  }

  async hasConflicts(): Promise<boolean> {
    return false;
  }
}
