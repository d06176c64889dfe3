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

/**
 * A model endpoint that cannot be used. `fatal` (the default) when no later request can do better: a refused key,
 * an unknown model, an endpoint unreachable or failing after the client's retries, a used-up quota. Not fatal when
 * it concerns one request only (a 400 for this prompt, a model that went silent on it): the step fails, the run
 * goes on.
 */
export class ModelError extends AideError {
  readonly fatal: boolean;

  constructor(userMessage: string, options?: { cause?: unknown; detail?: string; fatal?: boolean }) {
    super("model", userMessage, options);
    this.fatal = options?.fatal ?? true;
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
