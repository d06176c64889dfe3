import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../../src/logger.ts";
import { memberList } from "../../../src/search/journal.ts";
import type { Executor } from "../../../src/search/types.ts";
import { PermissionError } from "../../../src/runs/service.ts";
import type { Store } from "../../../src/store/index.ts";
import { DockerExecutor } from "../../../runner/executors/docker.ts";
import { SandboxExecutor } from "../../../runner/executors/sandbox.ts";
import { Runner } from "../../../runner/worker.ts";
import { startFileServer, type FileServer } from "../../fakes/file-server.ts";
import { DOCKER_SETUP_TIMEOUT_MS, ensureDockerSandbox } from "../../support/docker.ts";
import { useMongo } from "../../support/mongo.ts";
import { useRedisServer } from "../../support/redis.ts";
import { collectUntilEnd, exampleArchive, options, runnerConfig, service, starter, stranger } from "./support.ts";

const mongo = useMongo();
const redisServer = useRedisServer({ flush: false });
let store: Store;
let files: FileServer;
let svc: ReturnType<typeof service>;
const runners: Runner[] = [];
const children: ChildProcess[] = [];

function origin(thread: string | null = null) {
  return { platform: "slack" as const, channel: "C-RUNS", thread };
}

function startRunner(
  executor: Executor = new SandboxExecutor({ logger: silentLogger }),
  lockDurationMs = 2000,
  config = runnerConfig(),
): Runner {
  const runner = new Runner({
    config,
    store,
    redisUrl: redisServer.url,
    dataDir: mkdtempSync(join(tmpdir(), "aide-runner-data-")),
    executor,
    logger: silentLogger,
    concurrency: 2,
    lockDurationMs,
    stalledIntervalMs: 1000,
  });
  runner.start();
  runners.push(runner);
  return runner;
}

beforeAll(async () => {
  store = await mongo.connect();
  files = await startFileServer();
  files.route("/house-prices.tar.gz", {
    kind: "file",
    body: await exampleArchive("house-prices"),
    contentType: "application/gzip",
  });
  files.route("/loan-default.tar.gz", {
    kind: "file",
    body: await exampleArchive("loan-default"),
    contentType: "application/gzip",
  });
  svc = service(store, redisServer.url);
});

afterEach(async () => {
  for (const c of children.splice(0)) c.kill("SIGKILL");
  await Promise.all(runners.splice(0).map((r) => r.close()));
});

afterAll(async () => {
  await svc?.close();
  await files?.close();
});

describe("runs through the queue, the store and an executor", () => {
  it(
    "drives a run from a data link to run.finished in Docker, with the journal and best submission stored",
    async () => {
      await ensureDockerSandbox();
      startRunner(new DockerExecutor({ logger: silentLogger }));
      const run = await svc.runs.start({
        task: "Predict house prices. Metric: RMSE, lower is better. Submit id,price.",
        links: [files.url("/house-prices.tar.gz")],
        options: options({ steps: 6, parallel: 2 }),
        actor: starter,
        origin: origin("1700000000.000100"),
      });
      expect(run.status).toBe("queued");
      expect((await store.findRunByThread("slack", "C-RUNS", "1700000000.000100"))?.id).toBe(run.id);

      const events = await collectUntilEnd(svc.redis, run.id, 240_000);
      const types = events.map((e) => e.type);
      expect(types[0]).toBe("run.started");
      expect(types.at(-1)).toBe("run.finished");
      const started = events[0]!;
      expect(started.type === "run.started" && started.executor).toMatch(/^docker/);
      expect(types.filter((t) => t === "step.finished")).toHaveLength(6);
      expect(new Set(events.map((e) => e.id)).size).toBe(events.length);

      const done = await store.requireRun(run.id);
      expect(done.status).toBe("finished");
      expect(done.progress.nodes).toBe(6);
      const journal = await store.loadJournal(run.id);
      expect(journal.map((n) => n.id)).toEqual([0, 1, 2, 3, 4, 5]);
      expect(done.progress.bestNodeId).not.toBeNull();
      const best = journal.find((n) => n.id === done.progress.bestNodeId)!;
      expect(best.metric!.lowerIsBetter).toBe(true);
      // The house prices hold 150 of their 1,000 labelled rows out. The last step blended the best three scripts,
      // and the blend did best on the holdout: its members were refit on all the rows and blended again, and that
      // submission is the one kept.
      expect(started.type === "run.started" && started.holdout).toMatch(/^holding out 150 of 1000 labelled rows/);
      expect(best.holdout?.value).toBeGreaterThan(0);
      expect(best.stage).toBe("ensemble");
      expect(best.members).toHaveLength(3);
      expect(best.metric!.value).toBe(best.holdout!.value);
      const delivered = `ensemble ${best.id} refit: its members ${memberList(best.members!)} refit on all 1000 labelled rows and blended again`;
      const finished = events.at(-1)!;
      const refit = finished.type === "run.finished" ? finished.refit : null;
      expect(refit).toMatchObject({ ok: true, nodeId: best.id, note: delivered });
      // The run record keeps both, for the card and for aide export.
      expect(done.progress.holdoutLine).toMatch(/^holding out 150 of 1000 labelled rows/);
      expect(done.progress.executor).toBe(started.type === "run.started" ? started.executor : null);
      expect(done.progress.delivered).toBe(delivered);
      expect(done.progress.bestMembers).toEqual(best.members);
      expect(done.progress.bestHoldout).toBe(best.holdout!.value);
      const submission = await store.getSubmission(run.id, best.id);
      expect(submission?.split("\n")[0]).toBe("id,price");
    },
    DOCKER_SETUP_TIMEOUT_MS,
  );

  it("continues a run after its worker is killed with SIGKILL mid-step, losing and duplicating no node", async () => {
    const run = await svc.runs.start({
      task: "Predict loan default probability. Metric: ROC AUC. Submit id,default.",
      links: [files.url("/loan-default.tar.gz")],
      options: options({ steps: 7, parallel: 1 }),
      actor: starter,
      origin: origin(),
    });
    const child = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        join(import.meta.dirname, "child-runner.ts"),
        redisServer.url,
        mongo.uri,
        mkdtempSync(join(tmpdir(), "aide-child-")),
        "2000",
        mongo.dbName,
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    children.push(child);

    let killedAfter = -1;
    const events = await collectUntilEnd(svc.redis, run.id, 240_000, async (e) => {
      // Kill the first worker while it is in the middle of the step after its second finished node.
      if (killedAfter < 0 && e.type === "step.started" && e.nodeId === 2) {
        await new Promise((r) => setTimeout(r, 300));
        killedAfter = (await store.loadJournal(run.id)).length;
        child.kill("SIGKILL");
        startRunner();
      }
    });
    expect(killedAfter).toBe(2);
    expect(events.at(-1)!.type).toBe("run.finished");
    const journal = await store.loadJournal(run.id);
    expect(journal.map((n) => n.id)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    const finished = events
      .filter((e) => e.type === "step.finished")
      .map((e) => (e.type === "step.finished" ? e.node.id : -1));
    expect(finished).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(events.filter((e) => e.type === "run.started")).toHaveLength(2);
    const done = await store.requireRun(run.id);
    expect(done.status).toBe("finished");
    expect(done.progress.nodes).toBe(7);
    // The second worker, with a data directory of its own, hid the rows the first one kept with the run.
    const kept = JSON.parse((await store.loadHoldoutPlan(run.id))!);
    expect(kept).toMatchObject({ on: true, counts: { labelledRows: 1400 } });
    expect(kept.hidden).toHaveLength(210);
  }, 300_000);

  it("applies steering during a run: guidance, pause and resume, refusals, and stop with the best delivered", async () => {
    startRunner();
    const run = await svc.runs.start({
      task: "Predict loan default probability. Metric: ROC AUC. Submit id,default.",
      links: [files.url("/loan-default.tar.gz")],
      options: options({ steps: 30, parallel: 1 }),
      actor: starter,
      origin: origin(),
    });
    let paused = false;
    const events = await collectUntilEnd(svc.redis, run.id, 240_000, async (e) => {
      if (e.type === "step.finished" && e.node.id === 0) {
        await svc.runs.steer(run.id, { kind: "guidance", text: "use a random forest" }, stranger);
        await expect(svc.runs.stop(run.id, stranger)).rejects.toBeInstanceOf(PermissionError);
        await expect(svc.runs.steer(run.id, { kind: "more", steps: 5 }, stranger)).rejects.toBeInstanceOf(
          PermissionError,
        );
        await svc.runs.steer(run.id, { kind: "pause" }, starter);
      }
      if (e.type === "run.paused" && !paused) {
        paused = true;
        expect((await store.requireRun(run.id)).status).toBe("paused");
        await expect(svc.runs.steer(run.id, { kind: "resume" }, stranger)).rejects.toBeInstanceOf(PermissionError);
        await svc.runs.steer(run.id, { kind: "resume" }, starter);
      }
      if (e.type === "step.finished" && e.node.id === 3) await svc.runs.stop(run.id, { ...stranger, isAdmin: true });
    });
    const applied = events
      .filter((e) => e.type === "steer.applied")
      .map((e) => (e.type === "steer.applied" ? e.command.kind : ""));
    expect(applied).toEqual(["guidance", "pause", "resume", "stop"]);
    const last = events.at(-1)!;
    expect(last.type === "run.finished" && last.reason).toBe("stopped");
    const done = await store.requireRun(run.id);
    expect(done.status).toBe("stopped");
    expect(await store.unappliedSteers(run.id)).toHaveLength(0);
    const journal = await store.loadJournal(run.id);
    expect(journal.length).toBeGreaterThanOrEqual(4);
    expect(journal.length).toBeLessThan(30);
    // Every step that started after the guidance was applied saw it: the offline coder turns it into a random forest.
    const guidanceAt = events.findIndex((e) => e.type === "steer.applied");
    const afterIds = events.slice(guidanceAt).flatMap((e) => (e.type === "step.started" ? [e.nodeId] : []));
    const after = journal.filter((n) => afterIds.includes(n.id));
    expect(after.length).toBeGreaterThan(0);
    expect(after.some((n) => /RandomForest/.test(n.code))).toBe(true);
    expect(await store.getSubmission(run.id, done.progress.bestNodeId!)).not.toBeNull();
  }, 300_000);

  it("stops a queued run at once, and only for its starter or an admin", async () => {
    const run = await svc.runs.start({
      task: "t",
      links: [files.url("/house-prices.tar.gz")],
      options: options(),
      actor: starter,
      origin: origin(),
    });
    await expect(svc.runs.stop(run.id, stranger)).rejects.toThrow(/Only the run's starter \(Ada\)/);
    // Pausing holds a run until someone resumes it: the starter's and admins' call too. Guidance is anyone's.
    await expect(svc.runs.steer(run.id, { kind: "pause" }, stranger)).rejects.toThrow(
      /Only the run's starter \(Ada\) or an admin can pause this run/,
    );
    await expect(svc.runs.steer(run.id, { kind: "resume" }, stranger)).rejects.toThrow(/can resume this run/);
    await expect(svc.runs.steer(run.id, { kind: "more", steps: 3 }, stranger)).rejects.toThrow(/can change its budget/);
    expect(await store.listSteers(run.id)).toEqual([]);
    await svc.runs.steer(run.id, { kind: "guidance", text: "try a random forest" }, stranger);
    await svc.runs.steer(run.id, { kind: "pause" }, { ...stranger, isAdmin: true });
    expect((await store.listSteers(run.id)).map((s) => s.command.kind)).toEqual(["guidance", "pause"]);
    await svc.runs.stop(run.id, starter);
    expect((await store.requireRun(run.id)).status).toBe("stopped");
    await expect(svc.runs.steer(run.id, { kind: "pause" }, starter)).rejects.toThrow(/already stopped/);
  });
});

describe("bad data links", () => {
  it.each([
    ["a missing file", "/missing.zip", /404/],
    ["a path-traversal archive", "/evil.tar.gz", /escapes/],
    ["garbage bytes", "/garbage.zip", /damaged|not a zip|corrupt/i],
  ])("fails the run with a clear message for %s", async (_what, path, message) => {
    const tar = await import("tar");
    const { writeFileSync, readFileSync } = await import("node:fs");
    const dir = mkdtempSync(join(tmpdir(), "aide-evil-"));
    writeFileSync(join(dir, "x.csv"), "a,b\n1,2\n");
    // An archive whose entry climbs out of the data directory.
    await tar.c(
      {
        gzip: true,
        file: join(dir, "evil.tar.gz"),
        cwd: dir,
        onWriteEntry: (entry: { path: string }) => {
          entry.path = "../../evil.csv";
        },
      },
      ["x.csv"],
    );
    files.route("/evil.tar.gz", { kind: "file", body: readFileSync(join(dir, "evil.tar.gz")) });
    files.route("/garbage.zip", {
      kind: "file",
      body: Buffer.from("PK\u0003\u0004 this is not really a zip file at all"),
    });
    startRunner();
    const run = await svc.runs.start({
      task: "t",
      links: [files.url(path)],
      options: options(),
      actor: starter,
      origin: origin(),
    });
    const events = await collectUntilEnd(svc.redis, run.id, 60_000);
    const last = events.at(-1)!;
    expect(last.type).toBe("run.failed");
    expect(last.type === "run.failed" && last.error).toMatch(message);
    const failed = await store.requireRun(run.id);
    expect(failed.status).toBe("failed");
    expect(failed.error).toMatch(message);
  });

  it("fails a run with a dollar budget over a model that has no price, before its data is fetched", async () => {
    startRunner(
      undefined,
      undefined,
      runnerConfig({ openai: { codeModel: "llama3.1:8b", reviewModel: "gpt-4o-mini" } }),
    );
    // The link is missing: had the data been fetched first, the run would fail with a 404 instead.
    const run = await svc.runs.start({
      task: "t",
      links: [files.url("/not-fetched.zip")],
      options: options({ coder: "openai", budgetUsd: 1 }),
      actor: starter,
      origin: origin(),
    });
    const events = await collectUntilEnd(svc.redis, run.id, 60_000);
    const message =
      'A dollar budget needs prices for the models: "llama3.1:8b" has none. Add it under openai.prices in your config, or submit the run without --budget.';
    expect(events.map((e) => e.type)).toEqual(["run.failed"]);
    expect(events[0]!.type === "run.failed" && events[0]!.error).toBe(message);
    const failed = await store.requireRun(run.id);
    expect(failed.status).toBe("failed");
    expect(failed.error).toBe(message);
  });

  it("refuses links that are not http(s) before anything is queued", async () => {
    await expect(
      svc.runs.start({
        task: "t",
        links: ["ftp://host/data.zip"],
        options: options(),
        actor: starter,
        origin: origin(),
      }),
    ).rejects.toThrow(/Not a data link/);
  });
});

describe("local data paths", () => {
  it("are refused from chat users: only the runner machine's own terminal may name them", async () => {
    await expect(
      svc.runs.start({ task: "t", links: ["/etc"], options: options(), actor: starter, origin: origin() }),
    ).rejects.toThrow(/Not a data link: \/etc/);
  });
});
