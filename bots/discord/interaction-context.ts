/**
 * The interaction being handled, if any. The client runs the controller inside `withInteraction`, so the
 * surface can answer `ephemeral(...)` with an ephemeral interaction reply (only that user sees it) instead of a
 * public message. Outside an interaction (thread replies, the bridge) there is none.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import type { ButtonInteraction, ChatInputCommandInteraction } from "discord.js";

export interface InteractionScope {
  interaction: ChatInputCommandInteraction | ButtonInteraction;
  /** The user who invoked it. */
  userId: string;
  /** The deferred reply is ephemeral (only then may an ephemeral message replace it). */
  deferredEphemeral: boolean;
  /** The deferred reply has been filled in. */
  replied: boolean;
  /** Ephemeral messages sent in this scope. */
  ephemeralCount: number;
  /** When the interaction arrived; its token works for 15 minutes. */
  receivedAt: number;
}

const storage = new AsyncLocalStorage<InteractionScope>();

export function withInteraction<T>(scope: InteractionScope, fn: () => Promise<T>): Promise<T> {
  return storage.run(scope, fn);
}

export function currentInteraction(): InteractionScope | undefined {
  return storage.getStore();
}
