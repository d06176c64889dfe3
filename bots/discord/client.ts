/**
 * The discord.js client and its handlers. Handlers only translate (translate.ts) and hand the request to the
 * platform-neutral controller:
 *
 * - `/aide ...`: deferred at once (ephemeral: answers and refusals are for the person who typed it; the run's
 *   card and thread are public), then `controller.handle`, then the deferred reply is filled in.
 * - buttons on the status card: `deferUpdate` (the card stays as it is; the bridge edits it), then the
 *   controller; its answer or refusal is an ephemeral follow-up.
 * - messages: in a run's thread, a reply when the bot is mentioned, or any message when the MessageContent
 *   intent is enabled; in a channel, a mention of the bot is a command (attachments included). Answers are
 *   posted where the message was.
 *
 * Intents: Guilds, GuildMessages, and MessageContent only when enabled (it is privileged: switch it on in the
 * Developer Portal too, or Discord refuses the connection).
 */
import { AideError } from "../../src/errors.ts";
import {
  Client,
  Events,
  GatewayIntentBits,
  MessageFlags,
  type ButtonInteraction,
  type ChatInputCommandInteraction,
  type Interaction,
  type Message,
} from "discord.js";
import type { Logger } from "../../src/logger.ts";
import type { ChatMessage, ChatRequest } from "../../src/runs/chat/types.ts";
import { COMMAND_NAME } from "./commands.ts";
import { withInteraction, type InteractionScope } from "./interaction-context.ts";
import { discordRestOptions } from "./rest.ts";
import type { DiscordSurface } from "./surface.ts";
import { translateButton, translateMessage, translateSlash, type AdminPolicy } from "./translate.ts";

export interface ChatHandler {
  handle(req: ChatRequest): Promise<ChatMessage | null>;
}

export interface DiscordClientOptions {
  /** REST base URL (`DISCORD_API_URL`); the gateway is found through it. Empty: Discord's. */
  apiUrl?: string;
  /** Subscribe to the privileged MessageContent intent: plain thread replies steer. */
  messageContent: boolean;
}

export function intentsFor(messageContent: boolean): GatewayIntentBits[] {
  return [
    GatewayIntentBits.Guilds,
    GatewayIntentBits.GuildMessages,
    ...(messageContent ? [GatewayIntentBits.MessageContent] : []),
  ];
}

export function createDiscordClient(options: DiscordClientOptions): Client {
  return new Client({
    intents: intentsFor(options.messageContent),
    // Mentions are limited per message (render.ts); nothing else may ping.
    allowedMentions: { parse: [] },
    rest: discordRestOptions(options.apiUrl),
  });
}

export interface HandlerDeps {
  controller: ChatHandler;
  surface: DiscordSurface;
  policy: AdminPolicy;
  messageContent: boolean;
  logger: Logger;
}

const SORRY = "Something went wrong on our side; the error was logged. Please try again.";

/** Wires the handlers; returns a function that removes them. */
export function attachHandlers(client: Client, deps: HandlerDeps): () => void {
  const log = deps.logger.child({ component: "discord-client" });

  const onInteraction = async (interaction: Interaction) => {
    try {
      if (interaction.isChatInputCommand() && interaction.commandName === COMMAND_NAME) await onSlash(interaction);
      else if (interaction.isButton() && interaction.customId.startsWith("aide:")) await onButton(interaction);
    } catch (err) {
      log.error({ err }, "discord: interaction failed");
      if (interaction.isRepliable()) {
        const reply =
          interaction.deferred || interaction.replied
            ? interaction.followUp.bind(interaction)
            : interaction.reply.bind(interaction);
        await reply({ content: SORRY, flags: MessageFlags.Ephemeral }).catch(() => undefined);
      }
    }
  };

  const onSlash = async (interaction: ChatInputCommandInteraction) => {
    const receivedAt = Date.now();
    // Within 3 s, before anything slow (the database, the queue, posting the card).
    await interaction.deferReply({ flags: MessageFlags.Ephemeral });
    const translated = translateSlash(interaction, deps.policy);
    if ("notice" in translated) {
      await interaction.editReply({ content: translated.notice });
      return;
    }
    const scope: InteractionScope = {
      interaction,
      userId: interaction.user.id,
      deferredEphemeral: true,
      replied: false,
      ephemeralCount: 0,
      receivedAt,
    };
    const answer = await withInteraction(scope, () => deps.controller.handle(translated.request));
    if (answer) await deps.surface.replyEphemeral(scope, answer);
    else if (!scope.replied) await interaction.editReply({ content: "Done." });
  };

  const onButton = async (interaction: ButtonInteraction) => {
    const receivedAt = Date.now();
    await interaction.deferUpdate();
    const request = translateButton(interaction, deps.policy);
    if (!request) {
      await interaction.followUp({ content: "This button is not active any more.", flags: MessageFlags.Ephemeral });
      return;
    }
    // The deferred update belongs to the card: everything for the clicker goes in ephemeral follow-ups.
    const scope: InteractionScope = {
      interaction,
      userId: interaction.user.id,
      deferredEphemeral: false,
      replied: true,
      ephemeralCount: 0,
      receivedAt,
    };
    const answer = await withInteraction(scope, () => deps.controller.handle(request));
    if (answer) await deps.surface.replyEphemeral(scope, answer);
  };

  const onMessage = async (message: Message) => {
    try {
      const botId = client.user?.id;
      if (!botId) return;
      const request = translateMessage(message, botId, deps.policy, { allReplies: deps.messageContent });
      if (!request) return;
      const answer = await deps.controller.handle(request);
      if (answer) await deps.surface.post(request.where, answer);
    } catch (err) {
      log.error({ err }, "discord: message handling failed");
    }
  };

  const interactionListener = (i: Interaction) => void onInteraction(i);
  const messageListener = (m: Message) => void onMessage(m);
  client.on(Events.InteractionCreate, interactionListener);
  client.on(Events.MessageCreate, messageListener);
  client.on(Events.Error, (err) => log.error({ err }, "discord: client error"));
  client.rest.on("rateLimited", (info) =>
    log.warn({ route: info.route, retryAfter: info.retryAfter, global: info.global }, "discord: rate limited; waiting"),
  );
  return () => {
    client.off(Events.InteractionCreate, interactionListener);
    client.off(Events.MessageCreate, messageListener);
  };
}

/**
 * Logs in and resolves once the client is ready (guilds received). Failures become one user-facing line: an
 * unreachable API, a refused token, or no READY in time (the token never appears in the message).
 */
export async function loginAndWait(
  client: Client,
  token: string,
  timeoutMs = 30_000,
  apiUrl = "https://discord.com/api",
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const ready = new Promise<void>((resolve, reject) => {
    timer = setTimeout(
      () => reject(new AideError("discord", `Discord did not become ready within ${timeoutMs / 1000} s.`)),
      timeoutMs,
    );
    client.once(Events.ClientReady, () => resolve());
  });
  ready.catch(() => undefined); // observed below; never an unhandled rejection if login fails first
  try {
    await client.login(token);
    await ready;
  } catch (err) {
    if (err instanceof AideError) throw err;
    const e = err as { code?: string; status?: number; message?: string };
    if (e.code === "TokenInvalid" || e.status === 401)
      throw new AideError(
        "discord",
        "Discord refused DISCORD_TOKEN; use the bot token from the Developer Portal (Bot > Reset Token).",
      );
    throw new AideError("discord", `Cannot reach Discord at ${apiUrl}: ${e.message ?? String(err)}.`);
  } finally {
    clearTimeout(timer);
  }
}
