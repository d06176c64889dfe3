export { connectStore, Store, LEGAL_TRANSITIONS, TERMINAL_STATUSES, isLegalTransition, newRunId, bindingId, redactUri } from "./store.ts";
export type { ConnectOptions, TransitionExtra } from "./store.ts";
export { IllegalTransitionError, RunNotFoundError, ThreadBoundError } from "./errors.ts";
export * from "./types.ts";
