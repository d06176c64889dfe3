import type { SteerCommand, SteeringInbox } from "../search/types.ts";

/** A steering inbox held in memory: for a search in this process (the terminal command, tests). */
export class MemoryInbox implements SteeringInbox {
  private queue: SteerCommand[] = [];
  private waiters: Array<() => void> = [];

  push(command: SteerCommand): void {
    this.queue.push(command);
    for (const wake of this.waiters.splice(0)) wake();
  }

  async drain(): Promise<SteerCommand[]> {
    return this.queue.splice(0);
  }

  wait(signal?: AbortSignal): Promise<void> {
    if (this.queue.length > 0 || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      this.waiters.push(resolve);
      signal?.addEventListener("abort", () => resolve(), { once: true });
    });
  }
}
