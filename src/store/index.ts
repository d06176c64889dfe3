export { connectStore, Store, TERMINAL_STATUSES } from "./store.ts";
export { IllegalTransitionError, RunNotFoundError, ThreadBoundError } from "./errors.ts";
export * from "./types.ts";
