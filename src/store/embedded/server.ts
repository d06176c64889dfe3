/**
 * The embedded MongoDB-protocol server: smartmongo's `CongoServer` (wire protocol, OP_MSG, query/update/aggregate
 * engines) over our `EmbeddedStorage` (any `_id`, unique indexes, durable journal) with our own index commands.
 *
 * CongoServer 2.2.0 takes no storage object, so the storage adapter and the command router are swapped in after
 * construction. That touches two private fields of a pinned version (package.json pins 2.2.0 exactly); `start()`
 * checks the swap took and fails loudly otherwise. See src/store/README.md.
 */
import { CommandRouter, CongoServer, plugins } from "@push.rocks/smartmongo/dist_ts/congodb/index.js";
import { EmbeddedStorage, type IndexSpec } from "./storage.ts";

/** A BSON document as the wire protocol hands it over: its fields are read with a check or a cast where used. */
type Doc = Record<string, unknown>;

interface HandlerContext {
  database: string;
  command: Doc;
}

export interface EmbeddedMongoOptions {
  /** 0: any free port. */
  port: number;
  host?: string;
  /** Where data is persisted; null keeps everything in memory. */
  dir: string | null;
  /** An extra admin command answering with facts about the server process (e.g. its pid). */
  info?: { command: string; answer: () => Doc };
}

export interface EmbeddedMongo {
  readonly port: number;
  readonly uri: string;
  readonly storage: EmbeddedStorage;
  stop(): Promise<void>;
}

export async function startEmbeddedMongo(opts: EmbeddedMongoOptions): Promise<EmbeddedMongo> {
  const host = opts.host ?? "127.0.0.1";
  const storage = new EmbeddedStorage(opts.dir);
  const server = new CongoServer({ port: opts.port, host, storage: "memory" });
  const router = new CommandRouter(storage as never, server);
  const internals = server as unknown as { storage: unknown; commandRouter: unknown };
  const routerInternals = router as unknown as { handlers: Map<string, { handle(ctx: HandlerContext): Promise<Doc> }> };
  if (!("storage" in internals) || !("commandRouter" in internals) || !(routerInternals.handlers instanceof Map)) {
    throw new Error("@push.rocks/smartmongo internals changed: the embedded MongoDB server needs version 2.2.0");
  }
  internals.storage = storage;
  internals.commandRouter = router;
  const indexes = new IndexCommands(storage);
  for (const name of ["createIndexes", "listIndexes", "dropIndexes"]) routerInternals.handlers.set(name, indexes);
  const info = opts.info;
  if (info) routerInternals.handlers.set(info.command, { handle: async () => ({ ok: 1, ...info.answer() }) });
  // CongoServer's hello carries a topologyVersion, which tells drivers to monitor it with streaming (exhaust)
  // hellos; it answers those at once and without moreToCome, so every heartbeat failed and the driver cleared its
  // connection pool, failing whatever was in flight (seen under load as PoolClearedError). Without the field,
  // drivers poll with plain hellos, which it answers correctly.
  for (const name of ["hello", "ismaster", "isMaster"]) {
    const hello = routerInternals.handlers.get(name);
    if (!hello) continue;
    routerInternals.handlers.set(name, {
      handle: async (ctx) => {
        const { topologyVersion: _streamingMonitor, ...answer } = await hello.handle(ctx);
        return answer;
      },
    });
  }

  await server.start();
  let port = opts.port;
  if (port === 0) {
    // CongoServer reports the port it was given; ask its listening socket for the real one.
    const net = (server as unknown as { server: import("node:net").Server | null }).server;
    const addr = net?.address();
    port = typeof addr === "object" && addr ? addr.port : 0;
  }
  let stopping: Promise<void> | null = null;
  return {
    port,
    uri: `mongodb://${host}:${port}`,
    storage,
    stop() {
      stopping ??= server.stop();
      return stopping;
    },
  };
}

function commandError(err: unknown): Doc {
  const e = err as { message?: string; code?: number; codeName?: string };
  return { ok: 0, errmsg: e.message ?? String(err), code: e.code ?? 1, codeName: e.codeName ?? "InternalError" };
}

/** createIndexes / listIndexes / dropIndexes against `EmbeddedStorage`, answering as MongoDB 7 does. */
class IndexCommands {
  constructor(private readonly storage: EmbeddedStorage) {}

  async handle(ctx: HandlerContext): Promise<Doc> {
    try {
      if (ctx.command.createIndexes !== undefined) return await this.create(ctx);
      if (ctx.command.listIndexes !== undefined) return await this.list(ctx);
      return await this.drop(ctx);
    } catch (err) {
      return commandError(err);
    }
  }

  private async create({ database, command }: HandlerContext): Promise<Doc> {
    const coll = String(command.createIndexes);
    const existed = await this.storage.collectionExists(database, coll);
    const before = (await this.storage.getIndexes(database, coll)).length || 1;
    for (const raw of (command.indexes ?? []) as Doc[]) {
      const key = raw.key as Record<string, unknown>;
      const spec: IndexSpec = {
        name:
          typeof raw.name === "string"
            ? raw.name
            : Object.entries(key)
                .map(([k, v]) => `${k}_${String(v)}`)
                .join("_"),
        key: normaliseKey(key),
      };
      if (raw.unique) spec.unique = true;
      if (raw.sparse) spec.sparse = true;
      if (raw.expireAfterSeconds !== undefined) spec.expireAfterSeconds = Number(raw.expireAfterSeconds);
      if (raw.partialFilterExpression) spec.partialFilterExpression = raw.partialFilterExpression as Doc;
      this.storage.createIndex(database, coll, spec);
    }
    const after = (await this.storage.getIndexes(database, coll)).length;
    return { ok: 1, numIndexesBefore: before, numIndexesAfter: after, createdCollectionAutomatically: !existed };
  }

  private async list({ database, command }: HandlerContext): Promise<Doc> {
    const coll = String(command.listIndexes);
    if (!(await this.storage.collectionExists(database, coll))) {
      return { ok: 0, errmsg: `ns does not exist: ${database}.${coll}`, code: 26, codeName: "NamespaceNotFound" };
    }
    const firstBatch = (await this.storage.getIndexes(database, coll)).map((i) => ({ v: 2, ...i }));
    return { ok: 1, cursor: { id: plugins.bson.Long.fromNumber(0), ns: `${database}.${coll}`, firstBatch } };
  }

  private async drop({ database, command }: HandlerContext): Promise<Doc> {
    const coll = String(command.dropIndexes);
    if (!(await this.storage.collectionExists(database, coll))) {
      return { ok: 0, errmsg: `ns not found ${database}.${coll}`, code: 26, codeName: "NamespaceNotFound" };
    }
    const all = await this.storage.getIndexes(database, coll);
    const which = command.index as unknown;
    let names: string[];
    if (which === "*") names = all.filter((i) => i.name !== "_id_").map((i) => i.name);
    else if (Array.isArray(which)) names = which.map(String);
    else if (typeof which === "string") names = [which];
    else
      names = all
        .filter((i) => JSON.stringify(i.key) === JSON.stringify(normaliseKey(which as Record<string, unknown>)))
        .map((i) => i.name);
    for (const name of names) {
      if (name === "_id_") return { ok: 0, errmsg: "cannot drop _id index", code: 72, codeName: "InvalidOptions" };
      if (!(await this.storage.dropIndex(database, coll, name))) {
        return { ok: 0, errmsg: `index not found with name [${name}]`, code: 27, codeName: "IndexNotFound" };
      }
    }
    return { ok: 1, nIndexesWas: all.length };
  }
}

/** Index key values as plain numbers/strings (the driver may send Int32/Long/Double wrappers). */
function normaliseKey(key: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(key))
    out[k] = typeof v === "object" && v !== null && "valueOf" in v ? (v as { valueOf(): unknown }).valueOf() : v;
  return out;
}
