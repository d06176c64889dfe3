import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { AideError } from "../../../src/errors.ts";
import { readRedisPid, redisAnswers, startRedisServer, stopRedisPid } from "../../../src/services/redis-server.ts";

const dir = mkdtempSync(join(tmpdir(), "aide-redis-server-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("startRedisServer", () => {
  it("starts on a free port, answers PING, and stops", async () => {
    const server = await startRedisServer({ dir });
    expect(server.port).toBeGreaterThan(0);
    expect(server.url).toBe(`redis://127.0.0.1:${server.port}`);
    expect(await redisAnswers(server.url)).toBe(true);
    expect(readRedisPid(dir, server.port)).toBe(server.pid);
    await server.stop();
    expect(alive(server.pid)).toBe(false);
    expect(await redisAnswers(server.url, 300)).toBe(false);
    await server.stop(); // idempotent
  });

  it("starts detached and can be stopped by pid", async () => {
    const server = await startRedisServer({ dir, detached: true });
    expect(await redisAnswers(server.url)).toBe(true);
    const pid = readRedisPid(dir, server.port);
    expect(pid).toBe(server.pid);
    await stopRedisPid(pid!);
    expect(await redisAnswers(server.url, 300)).toBe(false);
  });

  it("fails clearly on a port that is taken", async () => {
    const first = await startRedisServer({ dir });
    try {
      await expect(startRedisServer({ dir, port: first.port, readyTimeoutMs: 5_000 })).rejects.toThrow(
        /already in use/,
      );
      expect(await redisAnswers(first.url)).toBe(true);
    } finally {
      await first.stop();
    }
  });

  it("keeps its data across a restart with appendOnly (as the local services run it), and not without", async () => {
    const { Redis } = await import("ioredis");
    const roundTrip = async (appendOnly: boolean): Promise<string | null> => {
      const own = mkdtempSync(join(tmpdir(), "aide-redis-aof-"));
      try {
        const first = await startRedisServer({ dir: own, appendOnly });
        const a = new Redis(first.url);
        await a.set("queued-run", "r1");
        a.disconnect();
        await first.stop();
        const second = await startRedisServer({ dir: own, appendOnly, port: first.port });
        const b = new Redis(second.url);
        const v = await b.get("queued-run");
        b.disconnect();
        await second.stop();
        return v;
      } finally {
        rmSync(own, { recursive: true, force: true });
      }
    };
    expect(await roundTrip(true)).toBe("r1");
    expect(await roundTrip(false)).toBeNull();
  });

  it("reports a missing redis-server binary with the install command", async () => {
    const err = await startRedisServer({ dir, bin: "/nonexistent/redis-server" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AideError);
    expect((err as AideError).code).toBe("redis");
    expect((err as AideError).userMessage).toMatch(/apt-get install -y redis-server/);
  });

  it("redisAnswers is false when nothing listens", async () => {
    expect(await redisAnswers("redis://127.0.0.1:1", 300)).toBe(false);
  });
});
