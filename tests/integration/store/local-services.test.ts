import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mongoose from "mongoose";
import { afterAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../../src/logger.ts";
import { mongoAnswers } from "../../../src/services/mongo-server.ts";
import { redisAnswers } from "../../../src/services/redis-server.ts";
import {
  defaultDataDir,
  ensureLocalServices,
  localServicesStatus,
  readServicesState,
  stopLocalServices,
} from "../../../src/services/local-services.ts";

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) {
    await stopLocalServices(d).catch(() => {});
    rmSync(d, { recursive: true, force: true });
  }
});

function dataDir(): string {
  const d = mkdtempSync(join(tmpdir(), "aide-services-"));
  dirs.push(d);
  return d;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A pid that surely belongs to no process any more. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ["-e", "console.log(process.pid)"], { encoding: "utf8" });
  return Number(r.stdout.trim());
}

const both = { redis: true, mongo: true } as const;

describe("local services", () => {
  it("defaults the data dir to AIDE_DATA_DIR or ~/.aide", () => {
    expect(defaultDataDir({ AIDE_DATA_DIR: "/x/y" })).toBe("/x/y");
    expect(defaultDataDir({})).toMatch(/\.aide$/);
  });

  it("starts both, reuses them on the next call, reports status, stops them", async () => {
    const dir = dataDir();
    const first = await ensureLocalServices({ dataDir: dir, need: both, logger: silentLogger });
    expect(first.redisUrl).toMatch(/^redis:\/\/127\.0\.0\.1:\d+$/);
    expect(first.mongoUri).toMatch(/^mongodb:\/\/127\.0\.0\.1:\d+$/);
    expect(await redisAnswers(first.redisUrl)).toBe(true);
    expect(await mongoAnswers(first.mongoUri)).toBe(true);
    const state = readServicesState(dir);
    expect(state.redis!.url).toBe(first.redisUrl);
    expect(state.mongo!.uri).toBe(first.mongoUri);

    const second = await ensureLocalServices({ dataDir: dir, need: both, logger: silentLogger });
    expect(second).toEqual(first);
    expect(readServicesState(dir)).toEqual(state);

    const status = await localServicesStatus(dir);
    expect(status.map((s) => [s.kind, s.running, s.pid])).toEqual([
      ["redis", true, state.redis!.pid],
      ["mongo", true, state.mongo!.pid],
    ]);

    const stopped = await stopLocalServices(dir);
    expect(stopped.map((s) => s.kind)).toEqual(["redis", "mongo"]);
    expect(alive(state.redis!.pid)).toBe(false);
    expect(alive(state.mongo!.pid)).toBe(false);
    expect(await localServicesStatus(dir)).toEqual([]);
    expect(existsSync(join(dir, "services.lock"))).toBe(false);
  });

  it("starts only what is needed", async () => {
    const dir = dataDir();
    const only = await ensureLocalServices({ dataDir: dir, need: { redis: false, mongo: true }, logger: silentLogger });
    expect(only.redisUrl).toBeUndefined();
    expect(only.mongoUri).toBeDefined();
    expect(readServicesState(dir).redis).toBeUndefined();
    await stopLocalServices(dir);
  });

  it("starts one server of each kind when called concurrently", async () => {
    const dir = dataDir();
    const results = await Promise.all(
      Array.from({ length: 4 }, () => ensureLocalServices({ dataDir: dir, need: both, logger: silentLogger })),
    );
    for (const r of results) expect(r).toEqual(results[0]);
    const state = readServicesState(dir);
    // Only the recorded servers were started: one redis log file (one per port started) and one mongo start.
    const redisLogs = readdirSync(join(dir, "services", "redis")).filter((f) => f.endsWith(".log"));
    expect(redisLogs).toEqual([`redis-${state.redis!.port}.log`]);
    const mongoLog = readFileSync(join(dir, "services", "mongo", "mongo.log"), "utf8");
    expect(mongoLog.match(/listening on/g)).toHaveLength(1);
    await stopLocalServices(dir);
  });

  it("recovers from a stale state file (dead pids) and keeps the MongoDB data", async () => {
    const dir = dataDir();
    const first = await ensureLocalServices({ dataDir: dir, need: both, logger: silentLogger });
    const conn = await mongoose.createConnection(`${first.mongoUri}/keep`).asPromise();
    await conn.collection("runs").insertOne({ _id: "r-kept" as never, ok: true });
    await conn.close();
    const state = readServicesState(dir);
    process.kill(state.redis!.pid, "SIGKILL");
    process.kill(state.mongo!.pid, "SIGKILL");
    while (alive(state.redis!.pid) || alive(state.mongo!.pid)) await new Promise((r) => setTimeout(r, 20));
    expect((await localServicesStatus(dir)).map((s) => s.running)).toEqual([false, false]);

    const again = await ensureLocalServices({ dataDir: dir, need: both, logger: silentLogger });
    const next = readServicesState(dir);
    expect(next.redis!.pid).not.toBe(state.redis!.pid);
    expect(next.mongo!.pid).not.toBe(state.mongo!.pid);
    // The freed ports are taken again, so URLs handed out earlier stay valid.
    expect(again).toEqual(first);
    const conn2 = await mongoose.createConnection(`${again.mongoUri}/keep`).asPromise();
    expect(await conn2.collection("runs").findOne({ _id: "r-kept" as never })).toEqual({ _id: "r-kept", ok: true });
    await conn2.close();
    await stopLocalServices(dir);
  });

  it("ignores a state file whose pids were recycled and a lock left by a dead process", async () => {
    const dir = dataDir();
    writeFileSync(
      join(dir, "services.json"),
      JSON.stringify({
        redis: { url: "redis://127.0.0.1:1", port: 1, pid: process.pid, startedAt: "2026-01-01T00:00:00Z" },
        mongo: { uri: "mongodb://127.0.0.1:1", port: 1, pid: deadPid(), startedAt: "2026-01-01T00:00:00Z" },
      }),
    );
    writeFileSync(join(dir, "services.lock"), `${deadPid()} deadbeef\n`);
    const got = await ensureLocalServices({ dataDir: dir, need: both, logger: silentLogger });
    const next = readServicesState(dir);
    expect(next.redis!.pid).not.toBe(process.pid);
    expect(alive(next.mongo!.pid)).toBe(true);
    expect(await redisAnswers(got.redisUrl)).toBe(true);
    expect(await mongoAnswers(got.mongoUri)).toBe(true);
    expect(alive(process.pid)).toBe(true); // the recorded "redis" pid (ours) was not killed
    await stopLocalServices(dir);
  });
});
