/**
 * Redis and MongoDB servers that a fault test can take down and bring back on the same port, with their data
 * kept on disk as a deployment keeps it: Redis with its append-only file (docker-compose.yml runs
 * `redis-server --appendonly yes`), the embedded MongoDB-protocol server with its journal (a real mongod keeps
 * its data files). Clients (workers, bots) never learn that anything changed but the dropped connections.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { startMongoServer, type MongoServerHandle } from "../../../src/services/mongo-server.ts";
import { startRedisServer, type RedisServerHandle } from "../../../src/services/redis-server.ts";

export interface RestartableServer {
  readonly url: string;
  readonly port: number;
  /** The server's pid (changes at each restart). */
  readonly pid: number;
  /** True while it is down. */
  readonly down: boolean;
  /** Takes it down: "graceful" is SIGTERM (the server saves and closes), "crash" is SIGKILL. */
  takeDown(how?: "graceful" | "crash"): Promise<void>;
  /** Starts it again on the same port with the same data directory. */
  bringUp(): Promise<void>;
  /** Takes it down, waits `downMs`, and brings it up again. */
  restart(downMs: number, how?: "graceful" | "crash"): Promise<void>;
  close(): Promise<void>;
}

interface Handle {
  pid: number;
  port: number;
  stop(): Promise<void>;
}

function restartable(
  url: (port: number) => string,
  start: (port: number | undefined) => Promise<Handle>,
): Promise<RestartableServer> {
  return (async () => {
    let handle: Handle | null = await start(undefined);
    const port = handle.port;
    let lastPid = handle.pid;
    const server: RestartableServer = {
      url: url(port),
      port,
      get pid() {
        return lastPid;
      },
      get down() {
        return handle === null;
      },
      async takeDown(how = "graceful") {
        const h = handle;
        if (!h) return;
        handle = null;
        if (how === "crash") {
          try {
            process.kill(h.pid, "SIGKILL");
          } catch {
            /* already gone */
          }
        }
        await h.stop();
      },
      async bringUp() {
        if (handle) return;
        handle = await start(port);
        lastPid = handle.pid;
      },
      async restart(downMs, how = "graceful") {
        await server.takeDown(how);
        await new Promise((r) => setTimeout(r, downMs));
        await server.bringUp();
      },
      async close() {
        const h = handle;
        handle = null;
        await h?.stop();
      },
    };
    return server;
  })();
}

/** A redis-server with AOF persistence in `dir`. */
export function startPersistentRedis(dir: string): Promise<RestartableServer> {
  mkdirSync(dir, { recursive: true });
  return restartable(
    (port) => `redis://127.0.0.1:${port}`,
    (port): Promise<RedisServerHandle> => startRedisServer({ dir, port, appendOnly: true }),
  );
}

/** The embedded MongoDB-protocol server with its data (snapshot + journal) in `dir/data`. */
export function startPersistentMongo(dir: string): Promise<RestartableServer> {
  mkdirSync(join(dir, "data"), { recursive: true });
  return restartable(
    (port) => `mongodb://127.0.0.1:${port}`,
    (port): Promise<MongoServerHandle> => startMongoServer({ dir, port }),
  );
}
