import type { TokenUsage } from "./types.ts";

/**
 * A coder's failure that belongs to one step only: an answer without usable code, a request the endpoint refused
 * for this prompt (an HTTP 400 on one request), a cut-off script that stayed cut off. The search records it as a
 * buggy node (with the reason and the model's answer) and goes on. Any other error a coder throws ends the run:
 * a refused key, an unknown model, an endpoint that stays unreachable.
 */
export class StepFailure extends Error {
  /** In words for the user and the node's analysis, e.g. "the model's answer had no Python code block". */
  readonly reason: string;
  /** What the model answered last (cut to a few thousand characters), kept with the node; "" when nothing came. */
  readonly answer: string;
  /** Tokens spent on the failed attempts: they count like any others. */
  readonly usage: TokenUsage;
  /**
   * The request itself failed (refused, timed out), rather than its answer being unusable. The search ends the
   * run when several steps in a row fail so: an endpoint that fails every request is not worth more steps.
   */
  readonly requestFailed: boolean;

  constructor(
    reason: string,
    details: { answer?: string; usage: TokenUsage; cause?: unknown; requestFailed?: boolean },
  ) {
    super(reason, { cause: details.cause });
    this.name = "StepFailure";
    this.reason = reason;
    this.answer = details.answer ?? "";
    this.usage = details.usage;
    this.requestFailed = details.requestFailed ?? false;
  }
}
