/**
 * Discord input -> platform-neutral ChatRequest. Pure translation: slash-command options become the text the
 * chat parser reads (`start <task> <links> --steps N ...`), attachments become ChatAttachments, a message in a
 * thread becomes a reply, a mention in a channel becomes a command, a button's custom_id becomes a button
 * request. Discord's markup ends here (`<https://x>` links, the mentions a reply is addressed with): the chat
 * layer reads plain text. Who may administer is decided here too: configured admin ids, or a member permission
 * named in discord.adminPermissions (ChatUser.isAdmin).
 */
import {
  PermissionFlagsBits,
  type ButtonInteraction,
  type ChatInputCommandInteraction,
  type Message,
  type PermissionsBitField,
} from "discord.js";
import type { Config } from "../../src/config.ts";
import type { ChatAttachment, ChatRequest, ChatUser, ThreadRef } from "../../src/runs/chat/types.ts";
import { FILE_OPTIONS } from "./commands.ts";
import { parseCustomId } from "./render.ts";

export interface AdminPolicy {
  /** User ids that count as admins. */
  admins: string[];
  /** Permission names (PermissionFlagsBits keys, e.g. ManageGuild); a member with any counts as admin. */
  permissions: string[];
}

export function adminPolicy(config: Config): AdminPolicy {
  return { admins: config.discord.admins, permissions: config.discord.adminPermissions };
}

/** Unknown permission names in the policy (a typo in discord.adminPermissions), for a warning at start. */
export function unknownPermissions(policy: AdminPolicy): string[] {
  return policy.permissions.filter((p) => !(p in PermissionFlagsBits));
}

export function isAdmin(
  userId: string,
  permissions: Readonly<PermissionsBitField> | null | undefined,
  policy: AdminPolicy,
): boolean {
  if (policy.admins.includes(userId)) return true;
  if (!permissions) return false;
  return policy.permissions.some((name) => {
    const bit = (PermissionFlagsBits as Record<string, bigint>)[name];
    return bit !== undefined && permissions.has(bit);
  });
}

function displayNameOf(member: unknown, user: { id: string; username: string; globalName: string | null }): string {
  const m = member as { displayName?: unknown; nick?: unknown } | null;
  if (m && typeof m.displayName === "string" && m.displayName) return m.displayName;
  if (m && typeof m.nick === "string" && m.nick) return m.nick;
  return user.globalName ?? user.username ?? user.id;
}

export function interactionUser(
  interaction: ChatInputCommandInteraction | ButtonInteraction,
  policy: AdminPolicy,
): ChatUser {
  return {
    userId: interaction.user.id,
    displayName: displayNameOf(interaction.member, interaction.user),
    isAdmin: isAdmin(interaction.user.id, interaction.memberPermissions, policy),
  };
}

export function messageUser(message: Message, policy: AdminPolicy): ChatUser {
  let permissions: Readonly<PermissionsBitField> | null = null;
  try {
    // Computed from cached roles; a member without cached roles has none we can trust.
    permissions =
      message.member && message.channel.isTextBased() && !message.channel.isDMBased()
        ? message.member.permissionsIn(message.channel)
        : null;
  } catch {
    permissions = null;
  }
  return {
    userId: message.author.id,
    displayName: displayNameOf(message.member, message.author),
    isAdmin: isAdmin(message.author.id, permissions, policy),
  };
}

/** Where an interaction or message happened: a thread is (parent channel, thread id), a channel (channel, null). */
export function whereOf(channel: { id: string; isThread(): boolean } | null, channelId: string): ThreadRef {
  const parentId = channel && "parentId" in channel && typeof channel.parentId === "string" ? channel.parentId : null;
  if (channel?.isThread() && parentId) return { platform: "discord", channel: parentId, thread: channel.id };
  return { platform: "discord", channel: channelId, thread: null };
}

/** `<https://x>`: a link whose preview the writer suppressed. */
const SUPPRESSED_LINK = /<(https?:\/\/[^<>|\s]+)>/gi;
/** Mentions a reply starts with (users `<@1>` `<@!1>`, roles `<@&1>`): it is addressed to them; the rest is the message. */
const LEADING_MENTIONS = /^\s*(?:<@[!&]?[A-Za-z0-9]+>\s*)+/;

/** Discord's message markup -> the plain text the chat parser reads. */
export function discordText(text: string): string {
  return text.replace(SUPPRESSED_LINK, "$1");
}

/** A thread reply's text for the chat layer: without the mentions it starts with, as plain text. */
export function discordReplyText(text: string): string {
  return discordText(text.replace(LEADING_MENTIONS, "")).trim();
}

/** Quotes nothing: the chat parser reads words and `--flags`; a value with spaces is only the last flag's risk. */
function flag(name: string, value: string | number | null): string {
  return value === null || value === "" ? "" : ` --${name} ${String(value).trim().replace(/\s+/g, "")}`;
}

export type Translated = { request: ChatRequest } | { notice: string };

/** A `/aide ...` slash command as a ChatRequest (or a notice for a thread-only command used elsewhere). */
export function translateSlash(interaction: ChatInputCommandInteraction, policy: AdminPolicy): Translated {
  const user = interactionUser(interaction, policy);
  const where = whereOf(interaction.channel, interaction.channelId);
  const sub = interaction.options.getSubcommand(false) ?? "help";
  const o = interaction.options;
  const inThread = where.thread !== null;
  const reply = (text: string): Translated => ({
    request: { kind: "reply", text: discordReplyText(text), user, where: where as ThreadRef & { thread: string } },
  });
  const command = (text: string, attachments?: ChatAttachment[]): Translated => ({
    request: { kind: "command", text: discordText(text), user, where, ...(attachments?.length ? { attachments } : {}) },
  });
  switch (sub) {
    case "start": {
      const task = o.getString("task") ?? "";
      const data = o.getString("data") ?? "";
      const attachments: ChatAttachment[] = [];
      for (const name of FILE_OPTIONS) {
        const a = o.getAttachment(name);
        // Discord's CDN links are signed and need no token.
        if (a) attachments.push({ name: a.name, url: a.url, size: a.size });
      }
      const text =
        `start ${task.replace(/\s+/g, " ").trim()} ${data.trim()}`.trim() +
        flag("steps", o.getInteger("steps")) +
        flag("metric", o.getString("metric")) +
        flag("timeout", o.getString("timeout")) +
        flag("parallel", o.getInteger("parallel")) +
        flag("holdout", o.getString("holdout"));
      return command(text, attachments);
    }
    case "status": {
      const run = o.getString("run");
      if (!run && inThread) return reply("status");
      return command(run ? `status ${run}` : "status");
    }
    case "stop": {
      const run = o.getString("run");
      if (!run && inThread) return reply("stop");
      return command(run ? `stop ${run}` : "stop");
    }
    case "steer": {
      const text = o.getString("text") ?? "";
      if (!inThread)
        return {
          notice:
            "`/aide steer` works inside a run's thread: open the thread under the run's status card and use it there (or reply there).",
        };
      return reply(text);
    }
    case "list":
      return command("list");
    case "help":
      return command("help");
    default:
      // An unknown subcommand (an old registration): the parser answers with the help text.
      return command(sub);
  }
}

export function translateButton(interaction: ButtonInteraction, policy: AdminPolicy): ChatRequest | null {
  const parsed = parseCustomId(interaction.customId);
  if (!parsed) return null;
  const user = interactionUser(interaction, policy);
  let where = whereOf(interaction.channel, interaction.channelId);
  // The card is in the channel; the thread started from it has the card's id.
  if (!where.thread && interaction.message.hasThread) where = { ...where, thread: interaction.message.id };
  return { kind: "button", action: parsed.action, runId: parsed.runId, user, where };
}

/** Removes mentions of the bot from a message's text. */
export function stripBotMention(text: string, botId: string): string {
  return text
    .replace(new RegExp(`<@!?${botId}>`, "g"), " ")
    .replace(/\s+/g, " ")
    .trim();
}

/**
 * A message as a ChatRequest: in a thread, a reply (when the bot is mentioned, or when `allReplies` because the
 * MessageContent intent delivers every message's text); in a channel, a command when the bot is mentioned.
 * Null: not for us.
 */
export function translateMessage(
  message: Message,
  botId: string,
  policy: AdminPolicy,
  opts: { allReplies: boolean },
): ChatRequest | null {
  if (message.author.bot || message.system || !message.inGuild()) return null;
  const mentioned = message.mentions.users.has(botId);
  const where = whereOf(message.channel, message.channelId);
  const text = stripBotMention(message.content, botId);
  if (where.thread) {
    if (!mentioned && !opts.allReplies) return null;
    if (!text && !mentioned) return null;
    return {
      kind: "reply",
      text: discordReplyText(text) || "help",
      user: messageUser(message, policy),
      where: where as ThreadRef & { thread: string },
    };
  }
  if (!mentioned) return null;
  const attachments: ChatAttachment[] = [...message.attachments.values()].map((a) => ({
    name: a.name,
    url: a.url,
    size: a.size,
  }));
  return {
    kind: "command",
    text: discordText(text),
    user: messageUser(message, policy),
    where,
    ...(attachments.length ? { attachments } : {}),
  };
}
