import { describe, expect, it } from "vitest";
import { abortReason, sleep } from "../../../src/util/sleep.ts";

describe("sleep", () => {
  it("waits about the time asked", async () => {
    const started = performance.now();
    await sleep(60);
    expect(performance.now() - started).toBeGreaterThanOrEqual(55);
  });

  it("rejects with the signal's reason as soon as it aborts", async () => {
    const controller = new AbortController();
    const reason = new Error("stopping");
    const started = performance.now();
    const waiting = sleep(10_000, controller.signal);
    setTimeout(() => controller.abort(reason), 20);
    await expect(waiting).rejects.toBe(reason);
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it("rejects at once for a signal aborted already, with an AbortError when it gives no reason", async () => {
    const aborted = AbortSignal.abort();
    await expect(sleep(10_000, aborted)).rejects.toBe(aborted.reason);
    const bare = { aborted: true, reason: undefined } as unknown as AbortSignal;
    expect(abortReason(bare)).toMatchObject({ name: "AbortError" });
  });

  it("leaves no listener on the signal once it has waited", async () => {
    const controller = new AbortController();
    let added = 0;
    let removed = 0;
    const signal = controller.signal;
    const add = signal.addEventListener.bind(signal);
    const remove = signal.removeEventListener.bind(signal);
    signal.addEventListener = ((...args: Parameters<typeof add>) => {
      added++;
      add(...args);
    }) as typeof add;
    signal.removeEventListener = ((...args: Parameters<typeof remove>) => {
      removed++;
      remove(...args);
    }) as typeof remove;
    await sleep(5, signal);
    expect([added, removed]).toEqual([1, 1]);
  });
});
