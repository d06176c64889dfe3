/** The embedded MongoDB-protocol server itself: what the Store relies on, and persistence across restarts. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mongoose from "mongoose";
import { afterAll, describe, expect, it } from "vitest";
import { mongoAnswers, mongoServerPid, startMongoServer } from "../../../src/services/mongo-server.ts";

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "aide-embedded-"));
  dirs.push(d);
  return d;
}

describe.skipIf(!!process.env.MONGODB_URI)("embedded MongoDB server", () => {
  it("keeps string ids, dates and unique indexes, and its data across a restart", async () => {
    const dir = tempDir();
    const first = await startMongoServer({ dir });
    expect(await mongoAnswers(first.uri)).toBe(true);
    expect(await mongoServerPid(first.uri)).toBe(first.pid);
    const conn = await mongoose.createConnection(`${first.uri}/persist`).asPromise();
    const coll = conn.collection("things");
    const when = new Date("2026-01-02T03:04:05.678Z");
    await coll.insertOne({ _id: "run-1" as never, at: when, n: 1, email: "a@x" });
    await coll.createIndex({ email: 1 }, { unique: true });
    await expect(coll.insertOne({ _id: "run-2" as never, email: "a@x" })).rejects.toMatchObject({ code: 11000 });
    await expect(coll.insertOne({ _id: "run-1" as never })).rejects.toMatchObject({ code: 11000 });
    await coll.insertOne({ _id: "run-3" as never, email: "b@x" });
    await expect(coll.updateOne({ _id: "run-3" as never }, { $set: { email: "a@x" } })).rejects.toMatchObject({
      code: 11000,
    });
    await coll.updateOne({ _id: "run-1" as never }, { $inc: { n: 41 } });
    await conn.close();
    await first.stop();
    expect(await mongoAnswers(first.uri, 300)).toBe(false);

    const second = await startMongoServer({ dir });
    const conn2 = await mongoose.createConnection(`${second.uri}/persist`).asPromise();
    const doc = await conn2.collection("things").findOne({ _id: "run-1" as never });
    expect(doc).toEqual({ _id: "run-1", at: when, n: 42, email: "a@x" });
    expect(doc!.at).toBeInstanceOf(Date);
    await expect(conn2.collection("things").insertOne({ _id: "run-4" as never, email: "b@x" })).rejects.toMatchObject({
      code: 11000,
    });
    await conn2.close();
    await second.stop();
  });

  it("keeps numbers numbers when a document is updated after a restart", async () => {
    const dir = tempDir();
    const first = await startMongoServer({ dir });
    const conn = await mongoose.createConnection(`${first.uri}/persist`).asPromise();
    await conn
      .collection("runs")
      .insertOne({ _id: "r1" as never, options: { steps: 6, budget: 2.5 }, progress: { step: 1 } });
    await conn.close();
    await first.stop();

    const second = await startMongoServer({ dir, port: first.port });
    const conn2 = await mongoose.createConnection(`${second.uri}/persist`).asPromise();
    await conn2.collection("runs").updateOne({ _id: "r1" as never }, { $set: { "progress.step": 2 } });
    await conn2
      .collection("runs")
      .findOneAndUpdate({ _id: "r1" as never }, { $set: { status: "failed" } }, { returnDocument: "after" });
    expect(await conn2.collection("runs").findOne({ _id: "r1" as never })).toEqual({
      _id: "r1",
      options: { steps: 6, budget: 2.5 },
      progress: { step: 2 },
      status: "failed",
    });
    await conn2.close();
    await second.stop();

    const third = await startMongoServer({ dir, port: first.port });
    const conn3 = await mongoose.createConnection(`${third.uri}/persist`).asPromise();
    expect(await conn3.collection("runs").findOne({ _id: "r1" as never })).toEqual({
      _id: "r1",
      options: { steps: 6, budget: 2.5 },
      progress: { step: 2 },
      status: "failed",
    });
    await conn3.close();
    await third.stop();
  });

  it("is monitored without failed heartbeats, so the driver never clears its pool under way", async () => {
    const server = await startMongoServer({ dir: tempDir(), memoryOnly: true });
    const conn = mongoose.createConnection(`${server.uri}/monitor`, { heartbeatFrequencyMS: 500 });
    const failures: string[] = [];
    conn.getClient().on("serverHeartbeatFailed", (e) => failures.push(`heartbeat: ${(e.failure as Error).message}`));
    conn.getClient().on("connectionPoolCleared", () => failures.push("pool cleared"));
    await conn.asPromise();
    const deadline = Date.now() + 2_500;
    let writes = 0;
    while (Date.now() < deadline) {
      await Promise.all(Array.from({ length: 5 }, () => conn.collection("t").insertOne({ at: Date.now() })));
      writes += 5;
    }
    await conn.close();
    await server.stop();
    expect(writes).toBeGreaterThan(0);
    expect(failures).toEqual([]);
  });

  it("refuses to serve one data dir from two processes", async () => {
    const dir = tempDir();
    const a = await startMongoServer({ dir });
    try {
      await expect(startMongoServer({ dir, readyTimeoutMs: 10_000 })).rejects.toThrow(/exited during startup/);
    } finally {
      await a.stop();
    }
  });

  it("survives a SIGKILL: the journal keeps every acknowledged write", async () => {
    const dir = tempDir();
    const a = await startMongoServer({ dir });
    const conn = await mongoose.createConnection(`${a.uri}/crash`).asPromise();
    for (let i = 0; i < 50; i++) await conn.collection("c").insertOne({ _id: `k${i}` as never, i });
    await conn.close();
    process.kill(a.pid, "SIGKILL");
    await a.stop();
    const b = await startMongoServer({ dir });
    const conn2 = await mongoose.createConnection(`${b.uri}/crash`).asPromise();
    expect(await conn2.collection("c").countDocuments()).toBe(50);
    await conn2.close();
    await b.stop();
  });
});
