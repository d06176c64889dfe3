import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ExecutorError } from "../../../src/errors.ts";
import { silentLogger } from "../../../src/logger.ts";
import type { ExecutionResult, Executor, ScriptJob } from "../../../src/search/types.ts";
import { isInfrastructureFailure, OutageTolerantExecutor, untilAnswered } from "../../../runner/infrastructure.ts";

function netError(code: string, message = `connect ${code}`): Error {
  return Object.assign(new Error(message), { code });
}

function named(name: string, message: string): Error {
  const e = new Error(message);
  e.name = name;
  return e;
}

describe("isInfrastructureFailure", () => {
  it.each([
    ["a refused connection", netError("ECONNREFUSED")],
    ["a reset connection", netError("ECONNRESET", "read ECONNRESET")],
    ["MongoDB's driver losing the server", named("MongoNetworkError", "connection 3 to 127.0.0.1:27017 closed")],
    ["no server to select", named("MongoServerSelectionError", "Server selection timed out after 10000 ms")],
    [
      "mongoose giving up buffering",
      named("MongooseError", "Operation `runs.findOne()` buffering timed out after 10000ms"),
    ],
    [
      "an executor error caused by a lost daemon",
      new ExecutorError("Lost track of the script's container.", { cause: netError("ECONNRESET") }),
    ],
    ["a hung-up socket", new Error("socket hang up")],
    [
      "a Docker daemon shutting down",
      new ExecutorError("Docker could not start the script's container.", {
        cause: Object.assign(
          new Error("(HTTP code 500) server error - grpc: the client connection is closing: context canceled"),
          { statusCode: 500 },
        ),
      }),
    ],
  ])("is true for %s", (_what, err) => {
    expect(isInfrastructureFailure(err)).toBe(true);
  });

  it.each([
    ["a bad script's executor error", new ExecutorError("The bubblewrap sandbox cannot run here.")],
    ["a validation error", named("ValidationError", "steps must be positive")],
    ["an abort", named("AbortError", "aborted")],
    ["a string", "ECONNRESET"],
    ["nothing", undefined],
  ])("is false for %s", (_what, err) => {
    expect(isInfrastructureFailure(err)).toBe(false);
  });

  it("stops at a cause cycle", () => {
    const a = new Error("a") as Error & { cause?: unknown };
    const b = new Error("b", { cause: a });
    a.cause = b;
    expect(isInfrastructureFailure(a)).toBe(false);
  });
});

describe("untilAnswered", () => {
  it("repeats an operation while it fails for an outage, and returns its answer", async () => {
    let calls = 0;
    const v = await untilAnswered(
      "op",
      async () => {
        if (++calls < 4) throw netError("ECONNREFUSED");
        return 42;
      },
      { logger: silentLogger, firstDelayMs: 1 },
    );
    expect(v).toBe(42);
    expect(calls).toBe(4);
  });

  it("rethrows other errors at once", async () => {
    let calls = 0;
    await expect(
      untilAnswered(
        "op",
        async () => {
          calls++;
          throw new Error("E11000 duplicate key");
        },
        { logger: silentLogger, firstDelayMs: 1 },
      ),
    ).rejects.toThrow(/E11000/);
    expect(calls).toBe(1);
  });

  it("gives up after maxWaitMs with the last error, and stops when the signal aborts", async () => {
    await expect(
      untilAnswered(
        "op",
        async () => {
          throw netError("ECONNREFUSED");
        },
        { logger: silentLogger, firstDelayMs: 5, maxWaitMs: 30 },
      ),
    ).rejects.toThrow(/ECONNREFUSED/);
    const controller = new AbortController();
    const waiting = untilAnswered(
      "op",
      async () => {
        throw netError("ECONNREFUSED");
      },
      { logger: silentLogger, firstDelayMs: 1000, signal: controller.signal },
    );
    controller.abort(new Error("lease lost"));
    await expect(waiting).rejects.toThrow(/lease lost/);
  });
});

describe("OutageTolerantExecutor", () => {
  const ok: ExecutionResult = {
    exitCode: 0,
    signal: null,
    timedOut: false,
    outOfMemory: false,
    durationMs: 1,
    output: "done",
    outputCapped: false,
    workingDir: "",
  };

  function job(): ScriptJob {
    const nodeDir = mkdtempSync(join(tmpdir(), "aide-outage-"));
    return { nodeId: 3, code: "print(1)", inputDir: nodeDir, nodeDir, timeoutMs: 1000, memoryMb: 64, outputCap: 1000 };
  }

  it("runs the script again from an empty working directory when the engine went away mid-script", async () => {
    const seen: boolean[] = [];
    let calls = 0;
    const inner: Executor = {
      name: "flaky",
      async run(j) {
        seen.push(existsSync(join(j.nodeDir, "working", "partial.csv")));
        mkdirSync(join(j.nodeDir, "working"), { recursive: true });
        writeFileSync(join(j.nodeDir, "working", "partial.csv"), "half");
        if (++calls < 3)
          throw new ExecutorError("Lost track of the script's container.", { cause: netError("ECONNRESET") });
        return ok;
      },
    };
    const executor = new OutageTolerantExecutor(inner, { logger: silentLogger, maxWaitMs: 60_000 });
    expect(executor.name).toBe("flaky");
    expect(await executor.run(job())).toEqual(ok);
    expect(seen).toEqual([false, false, false]);
  });

  it("lets the script's own failures and permanent executor errors through", async () => {
    let calls = 0;
    const inner: Executor = {
      name: "broken",
      async run() {
        calls++;
        throw new ExecutorError(
          "sandbox image aide-sandbox:latest not found; build it with runner/image/build-image.sh",
        );
      },
    };
    await expect(
      new OutageTolerantExecutor(inner, { logger: silentLogger, maxWaitMs: 60_000 }).run(job()),
    ).rejects.toThrow(/not found/);
    expect(calls).toBe(1);
  });

  it("passes the run's preparation and release through", async () => {
    const calls: string[] = [];
    const inner: Executor = {
      name: "warm",
      run: async () => ok,
      prepareRun: async () => void calls.push("prepare"),
      releaseRun: async () => void calls.push("release"),
    };
    const executor = new OutageTolerantExecutor(inner, { logger: silentLogger, maxWaitMs: 1 });
    const scope = { inputDir: "/in", runDir: "/run", memoryMb: 64 };
    await executor.prepareRun?.(scope);
    await executor.releaseRun?.(scope);
    expect(calls).toEqual(["prepare", "release"]);
    expect(
      new OutageTolerantExecutor({ name: "cold", run: async () => ok }, { logger: silentLogger, maxWaitMs: 1 })
        .prepareRun,
    ).toBeUndefined();
  });
});
