/**
 * The script supervisor on its own, with a fake script: the sequence it drives (SIGINT at the time limit or on
 * abort, SIGKILL after the grace time, SIGKILL at once past the output ceiling) and how it reads an end (exit
 * code or signal, 128+N codes, timed out, out of memory). Every executor's cold and warm path goes through it;
 * contract.test.ts checks the same against the real executors.
 */
import { describe, expect, it } from "vitest";
import { silentLogger } from "../../../src/logger.ts";
import {
  drain,
  ScriptSupervisor,
  signalName,
  type SupervisorOptions,
} from "../../../runner/executors/script-supervisor.ts";

/** A supervisor whose interrupt and kill are recorded, with the time since it was made. */
function supervised(over: Partial<SupervisorOptions> = {}) {
  const sent: Array<{ what: "interrupt" | "kill"; at: number }> = [];
  const made = Date.now();
  const supervisor = new ScriptSupervisor({
    timeoutMs: 60_000,
    memoryMb: 512,
    outputCap: 1000,
    graceMs: 150,
    outputCeiling: 10_000,
    logger: silentLogger,
    context: { test: true },
    interrupt: () => sent.push({ what: "interrupt", at: Date.now() - made }),
    kill: () => sent.push({ what: "kill", at: Date.now() - made }),
    ...over,
  });
  return { supervisor, sent };
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("ScriptSupervisor", () => {
  it("interrupts at the time limit, kills after the grace time, and reads the end as timed out", async () => {
    const { supervisor, sent } = supervised({ timeoutMs: 100 });
    supervisor.start();
    await pause(400);
    expect(sent.map((s) => s.what)).toEqual(["interrupt", "kill"]);
    expect(sent[0]!.at).toBeGreaterThanOrEqual(95);
    expect(sent[1]!.at - sent[0]!.at).toBeGreaterThanOrEqual(140);
    supervisor.append("Traceback ... MemoryError\n"); // a timed-out script's memory error is not the verdict
    const r = supervisor.result({ code: null, signal: "SIGKILL" });
    expect(r).toMatchObject({ timedOut: true, aborted: false, signal: "SIGKILL", exitCode: null, outOfMemory: false });
    expect(r.durationMs).toBeGreaterThanOrEqual(95);
  });

  it("sends no kill when the script ends within the grace time, nor anything after it ended", async () => {
    const { supervisor, sent } = supervised({ timeoutMs: 50 });
    supervisor.start();
    await pause(90);
    supervisor.ended();
    await pause(250);
    expect(sent.map((s) => s.what)).toEqual(["interrupt"]);
    expect(supervisor.result({ code: null, signal: "SIGINT" })).toMatchObject({ timedOut: true, signal: "SIGINT" });
  });

  it("obeys the abort signal, also one that fired before the script started", async () => {
    const controller = new AbortController();
    const { supervisor, sent } = supervised({ signal: controller.signal });
    supervisor.start();
    controller.abort();
    expect(sent.map((s) => s.what)).toEqual(["interrupt"]);
    supervisor.ended();
    expect(supervisor.result({ code: 130, signal: null, codeEncodesSignal: true })).toMatchObject({
      aborted: true,
      timedOut: false,
      signal: "SIGINT",
      exitCode: null,
    });

    const early = new AbortController();
    early.abort();
    const late = supervised({ signal: early.signal });
    late.supervisor.start();
    expect(late.sent.map((s) => s.what)).toEqual(["interrupt"]);
    late.supervisor.ended();
  });

  it("kills at once past the output ceiling, keeps the capped output and says why", () => {
    const { supervisor, sent } = supervised();
    supervisor.start();
    for (let i = 0; i < 30; i++) supervisor.append("y".repeat(500));
    expect(sent.map((s) => s.what)).toEqual(["kill"]);
    const r = supervisor.result({ code: null, signal: 9 });
    expect(r.signal).toBe("SIGKILL");
    expect(r.outputCeilingHit).toBe(true);
    expect(r.outputCapped).toBe(true);
    expect(r.outOfMemory).toBe(false); // its own kill, not the OOM killer's
    expect(r.output).toContain("[aide executor: output exceeded 10000 characters; the script was killed]");
    expect(r.output.length).toBeLessThan(1000 + 200);
  });

  it("reads out-of-memory the same way for every sandbox", () => {
    const end = (over: Parameters<ScriptSupervisor["result"]>[0], output = "") => {
      const { supervisor } = supervised();
      supervisor.start();
      supervisor.append(output);
      return supervisor.result(over);
    };
    // The kernel said so.
    const killed = end({ code: 137, signal: null, codeEncodesSignal: true, oomKilled: true });
    expect(killed).toMatchObject({ outOfMemory: true, signal: "SIGKILL", exitCode: null });
    expect(killed.output).toContain("killed for exceeding the 512 MB memory limit");
    // A SIGKILL nobody here sent, where nothing else could have sent it.
    expect(end({ code: null, signal: "SIGKILL", sigkillMeansOom: true }).outOfMemory).toBe(true);
    expect(end({ code: null, signal: "SIGKILL" }).outOfMemory).toBe(false);
    // The script said so as it failed.
    expect(end({ code: 1, signal: null }, "Traceback\nMemoryError\n").outOfMemory).toBe(true);
    expect(
      end({ code: 1, signal: null }, "numpy.core._exceptions._ArrayMemoryError: Unable to allocate 8 GiB\n")
        .outOfMemory,
    ).toBe(true);
    expect(end({ code: 0, signal: null }, "caught a MemoryError and carried on\n").outOfMemory).toBe(false);
    expect(end({ code: 1, signal: null }, "ValueError\n").outOfMemory).toBe(false);
  });

  it("maps signal numbers and 128+N exit codes to names, leaving ordinary codes alone", () => {
    const { supervisor } = supervised();
    expect(supervisor.result({ code: 139, signal: null, codeEncodesSignal: true })).toMatchObject({
      signal: "SIGSEGV",
      exitCode: null,
    });
    expect(supervised().supervisor.result({ code: 139, signal: null })).toMatchObject({ signal: null, exitCode: 139 });
    expect(supervised().supervisor.result({ code: 3, signal: null, codeEncodesSignal: true })).toMatchObject({
      signal: null,
      exitCode: 3,
    });
    expect(supervised().supervisor.result({ code: null, signal: 40 }).signal).toBe("SIG40");
    expect(signalName(15)).toBe("SIGTERM");
    expect(supervised().supervisor.result({ code: 0, signal: null }).durationMs).toBe(0); // never started
  });

  it("drains output for at most the given time", async () => {
    expect(await drain(Promise.resolve(), 1000)).toBe(true);
    const started = Date.now();
    expect(await drain(new Promise(() => undefined), 100)).toBe(false);
    expect(Date.now() - started).toBeLessThan(1000);
  });
});
