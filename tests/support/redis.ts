/**
 * One real redis-server per test file: `const r = useRedisServer();` at the top level of a test file starts it in
 * beforeAll, flushes it before each test (unless `flush: false`) and stops it in afterAll. Clients made with
 * `r.client()` are closed in afterAll.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { afterAll, beforeAll, beforeEach } from "vitest";
import { startRedisServer, type RedisServerHandle } from "../../src/services/redis-server.ts";

export interface TestRedis {
  readonly url: string;
  readonly port: number;
  /** A shared client (created in beforeAll). */
  readonly redis: Redis;
  /** A new client, closed in afterAll. `maxRetriesPerRequest: null` as BullMQ wants. */
  client(): Redis;
  /** BullMQ connection options for this server. */
  bullConnection(): { url: string; maxRetriesPerRequest: null };
}

export function useRedisServer(options: { flush?: boolean } = {}): TestRedis {
  let server: RedisServerHandle | undefined;
  let dir: string | undefined;
  let shared: Redis | undefined;
  const clients: Redis[] = [];

  const handle: TestRedis = {
    get url() {
      if (!server) throw new Error("redis-server not started yet (use it inside tests or hooks)");
      return server.url;
    },
    get port() {
      if (!server) throw new Error("redis-server not started yet");
      return server.port;
    },
    get redis() {
      if (!shared) throw new Error("redis-server not started yet");
      return shared;
    },
    client() {
      const c = new Redis(handle.url, { maxRetriesPerRequest: null });
      c.on("error", () => {});
      clients.push(c);
      return c;
    },
    bullConnection() {
      return { url: handle.url, maxRetriesPerRequest: null };
    },
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "aide-redis-"));
    server = await startRedisServer({ dir });
    shared = handle.client();
  });

  if (options.flush ?? true) {
    beforeEach(async () => {
      await shared?.flushall();
    });
  }

  afterAll(async () => {
    for (const c of clients.splice(0)) c.disconnect();
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  return handle;
}
