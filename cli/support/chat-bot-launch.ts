import type { ChatBot } from "../../src/runs/chat/types.ts";
import { untilSignal } from "./signals.ts";

/**
 * How `aide slack` and `aide discord` run their bot: start it, say on stderr that it is ready (`ready` reads what
 * the started bot knows: its port, its user), serve until SIGINT or SIGTERM, then stop it, also when starting
 * failed half-way (a bridge started, a receiver not).
 */
export async function serveChatBot(bot: ChatBot, label: string, ready: () => string): Promise<void> {
  try {
    await bot.start();
    process.stderr.write(`${label}: ${ready()} Ctrl-C to stop.\n`);
    await untilSignal();
    process.stderr.write(`${label}: stopping.\n`);
  } finally {
    await bot.stop().catch(() => undefined);
  }
}
