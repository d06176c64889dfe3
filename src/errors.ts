/**
 * Typed errors that carry a message fit for the user (a terminal line or a chat message) next to the
 * technical detail that goes to the log. Never put secrets in either.
 */
export class AideError extends Error {
  /** A short, user-facing sentence. */
  readonly userMessage: string;
  readonly code: string;

  constructor(code: string, userMessage: string, options?: { cause?: unknown; detail?: string }) {
    super(options?.detail ? `${userMessage} (${options.detail})` : userMessage, { cause: options?.cause });
    this.name = new.target.name;
    this.code = code;
    this.userMessage = userMessage;
  }
}

/** Bad command-line flags, config values or task input. */
export class UsageError extends AideError {
  constructor(userMessage: string, options?: { cause?: unknown; detail?: string }) {
    super("usage", userMessage, options);
  }
}

/** A model endpoint that cannot be reached or keeps failing. */
export class ModelError extends AideError {
  constructor(userMessage: string, options?: { cause?: unknown; detail?: string }) {
    super("model", userMessage, options);
  }
}

/** The sandbox or executor cannot run scripts (missing bubblewrap, python, docker...). */
export class ExecutorError extends AideError {
  constructor(userMessage: string, options?: { cause?: unknown; detail?: string }) {
    super("executor", userMessage, options);
  }
}

/** Input data that cannot be used (missing directory, unreadable files). */
export class DataError extends AideError {
  constructor(userMessage: string, options?: { cause?: unknown; detail?: string }) {
    super("data", userMessage, options);
  }
}

export function userMessageOf(err: unknown): string {
  if (err instanceof AideError) return err.userMessage;
  if (err instanceof Error) return err.message;
  return String(err);
}
