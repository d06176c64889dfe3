/**
 * A MongoDB for a test file: `const m = useMongo();` at the top level. With MONGODB_URI set (a real MongoDB) each
 * test file gets a database of its own (`aide_test_<random>`), dropped in afterAll; otherwise an embedded server
 * (src/services/mongo-server.ts, memory only) is started for the file and stopped afterwards.
 *
 * `m.uri` is the server URI, `m.dbName` the file's database; `m.connect()` opens a Store on it (closed in afterAll).
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mongoose from "mongoose";
import { afterAll, beforeAll } from "vitest";
import { silentLogger } from "../../src/logger.ts";
import { startMongoServer, type MongoServerHandle } from "../../src/services/mongo-server.ts";
import { connectStore, type Store } from "../../src/store/index.ts";

export interface TestMongo {
  readonly uri: string;
  readonly dbName: string;
  /** True when running against a real MongoDB (MONGODB_URI). */
  readonly real: boolean;
  connect(): Promise<Store>;
}

export function useMongo(): TestMongo {
  const external = process.env.MONGODB_URI;
  const dbName = `aide_test_${randomBytes(5).toString("hex")}`;
  let server: MongoServerHandle | undefined;
  let dir: string | undefined;
  let uri: string | undefined = external;
  const stores: Store[] = [];

  beforeAll(async () => {
    if (external) return;
    dir = mkdtempSync(join(tmpdir(), "aide-mongo-"));
    server = await startMongoServer({ dir, memoryOnly: true });
    uri = server.uri;
  });

  afterAll(async () => {
    for (const s of stores.splice(0)) await s.close().catch(() => {});
    if (external) {
      const conn = mongoose.createConnection(external, { dbName });
      try {
        await conn.asPromise();
        await conn.dropDatabase();
      } finally {
        await conn.close();
      }
    }
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  return {
    get uri() {
      if (!uri) throw new Error("mongo not started yet (use it inside tests or hooks)");
      return uri;
    },
    dbName,
    real: !!external,
    async connect() {
      const store = await connectStore(this.uri, silentLogger, { dbName });
      stores.push(store);
      return store;
    },
  };
}
