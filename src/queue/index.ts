export * from "./keys.ts";
export * from "./run-queue.ts";
export * from "./events.ts";
export * from "./steering.ts";
