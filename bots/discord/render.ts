/**
 * ChatMessage -> Discord messages. Pure: no I/O. The platform-neutral message (src/runs/chat) is rendered in one
 * of two shapes:
 *
 * - card: a message with buttons, fields or a header and no code (the status card, status and list replies,
 *   the summary) becomes one embed (title, description, fields, footer) with buttons underneath;
 * - markdown: anything with code (a new best) or plain text becomes message content in block order (header as
 *   a heading, fields as bold labels, code fenced, context as subtext), split into 2000-character chunks with
 *   code fences balanced; buttons go under the last chunk.
 *
 * Files go with the last message, at most 10 per message and within the upload size; a file over the size is
 * not sent and a note says so. Mentions are `<@id>` in the content, and allowed_mentions names exactly those
 * users, so text from users (a task with "@everyone") never notifies anyone.
 */
// discord.js re-exports discord-api-types/v10, its own dependency (not one of ours: importing it directly would
// rely on npm hoisting it).
import {
  ButtonStyle,
  ComponentType,
  type APIActionRowComponent,
  type APIAllowedMentions,
  type APIButtonComponent,
  type APIEmbed,
  type APIEmbedField,
} from "discord.js";
import type { ButtonAction, ChatBlock, ChatButton, ChatFile, ChatMessage } from "../../src/runs/chat/types.ts";
import { formatBytes } from "../../src/util/bytes.ts";
import { DISCORD_LIMITS as L } from "./limits.ts";
import { clip, splitContent, truncateText } from "./split.ts";

/** One Discord message, ready for the REST body or an interaction reply. */
export interface DiscordPayload {
  content: string;
  embeds: APIEmbed[];
  components: APIActionRowComponent<APIButtonComponent>[];
  files: ChatFile[];
  allowedMentions: APIAllowedMentions;
}

export interface RenderOptions {
  /** Largest upload of one message, in bytes. */
  maxUploadBytes?: number;
  /** Embed colour. */
  color?: number;
}

const BRAND = 0x5865f2;
const CUSTOM_ID = /^aide:(pause|resume|stop|more10):(.+)$/;

/** `aide:<action>:<runId>`, the custom_id of a button. */
export function buttonCustomId(action: ButtonAction, runId: string): string {
  return clip(`aide:${action}:${runId}`, L.customId);
}

/** Reads a button's custom_id back; null for buttons that are not ours. */
export function parseCustomId(customId: string): { action: ButtonAction; runId: string } | null {
  const m = CUSTOM_ID.exec(customId);
  return m ? { action: m[1] as ButtonAction, runId: m[2]! } : null;
}

export function mentionOf(userId: string): string {
  return `<@${userId}>`;
}

/** Keeps user code from closing our fence early. */
function escapeFences(code: string): string {
  return code.replace(/```/g, "`\u200b``");
}

function codeBlock(block: Extract<ChatBlock, { kind: "code" }>): string {
  const body = escapeFences(block.code.replace(/\s+$/, ""));
  // A cut snippet (`totalLines`) is announced by the message itself (a context line), not here.
  const fence = `\`\`\`${(block.language || "").replace(/[^A-Za-z0-9_+-]/g, "")}`;
  return `${fence}\n${body}\n\`\`\``;
}

function buttonRows(buttons: ChatButton[]): APIActionRowComponent<APIButtonComponent>[] {
  const rows: APIActionRowComponent<APIButtonComponent>[] = [];
  for (const b of buttons.slice(0, L.buttonsPerRow * L.rowsPerMessage)) {
    if (rows.length === 0 || rows[rows.length - 1]!.components.length >= L.buttonsPerRow)
      rows.push({ type: ComponentType.ActionRow, components: [] });
    rows[rows.length - 1]!.components.push({
      type: ComponentType.Button,
      custom_id: buttonCustomId(b.action, b.runId),
      label: clip(b.label, L.buttonLabel),
      style:
        b.style === "danger" ? ButtonStyle.Danger : b.style === "primary" ? ButtonStyle.Primary : ButtonStyle.Secondary,
    });
  }
  return rows;
}

function isCard(message: ChatMessage): boolean {
  const kinds = new Set(message.blocks.map((b) => b.kind));
  return !kinds.has("code") && (kinds.has("buttons") || kinds.has("fields") || kinds.has("header"));
}

/** Characters an embed counts towards the 6000 total. */
export function embedSize(e: APIEmbed): number {
  return (
    (e.title?.length ?? 0) +
    (e.description?.length ?? 0) +
    (e.footer?.text.length ?? 0) +
    (e.author?.name.length ?? 0) +
    (e.fields ?? []).reduce((n, f) => n + f.name.length + f.value.length, 0)
  );
}

function renderEmbed(blocks: ChatBlock[], color: number): APIEmbed {
  const title = blocks.find((b): b is Extract<ChatBlock, { kind: "header" }> => b.kind === "header");
  const description: string[] = [];
  const fields: APIEmbedField[] = [];
  const footer: string[] = [];
  let headerUsed = false;
  for (const b of blocks) {
    if (b.kind === "header") {
      if (b === title && !headerUsed) headerUsed = true;
      else description.push(`**${b.text}**`);
    } else if (b.kind === "text") description.push(b.text);
    else if (b.kind === "fields") {
      for (const f of b.fields) {
        const value = f.value.trim() || "\u2014";
        fields.push({
          name: clip(f.label.trim() || "\u200b", L.embedFieldName),
          value: truncateText(value, L.embedFieldValue),
          inline: value.length <= 40 && !value.includes("\n"),
        });
      }
    } else if (b.kind === "context") footer.push(b.text);
    else if (b.kind === "link") description.push(maskedLink(b));
  }
  const embed: APIEmbed = { color };
  if (title) embed.title = clip(title.text, L.embedTitle);
  if (description.length) embed.description = truncateText(description.join("\n\n"), L.embedDescription);
  if (fields.length) {
    if (fields.length > L.embedFields) {
      // Keep 24 and fold the rest into the last field.
      const rest = fields.splice(L.embedFields - 1);
      fields.push({
        name: "More",
        value: truncateText(rest.map((f) => `**${f.name}:** ${f.value}`).join("\n"), L.embedFieldValue),
        inline: false,
      });
    }
    embed.fields = fields;
  }
  if (footer.length) embed.footer = { text: truncateText(footer.join("\n"), L.embedFooter) };
  // The 6000 total: shorten the description, then drop fields from the end, then shorten the footer.
  let over = embedSize(embed) - L.embedTotal;
  if (over > 0 && embed.description) {
    embed.description = truncateText(embed.description, Math.max(100, embed.description.length - over - 1));
    over = embedSize(embed) - L.embedTotal;
  }
  while (over > 0 && embed.fields && embed.fields.length) {
    embed.fields.pop();
    over = embedSize(embed) - L.embedTotal;
  }
  if (over > 0 && embed.footer)
    embed.footer.text = clip(embed.footer.text, Math.max(1, embed.footer.text.length - over));
  return embed;
}

function renderMarkdown(blocks: ChatBlock[]): string {
  const parts: string[] = [];
  for (const b of blocks) {
    switch (b.kind) {
      case "header":
        parts.push(`### ${b.text.replace(/\n/g, " ")}`);
        break;
      case "text":
        parts.push(b.text);
        break;
      case "fields":
        parts.push(b.fields.map((f) => `**${f.label}:** ${f.value}`).join("\n"));
        break;
      case "code":
        parts.push(codeBlock(b));
        break;
      case "context":
        parts.push(
          b.text
            .split("\n")
            .map((l) => (l.trim() ? `-# ${l}` : l))
            .join("\n"),
        );
        break;
      case "link":
        parts.push(maskedLink(b));
        break;
      case "buttons":
        break;
    }
  }
  return parts.join("\n");
}

/** "[label](url)": Discord's masked link, the label without the brackets that would end it. */
function maskedLink(b: Extract<ChatBlock, { kind: "link" }>): string {
  return `[${b.label.replace(/[[\]]/g, "")}](${b.url.replace(/[()\s]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, "0")}`)})`;
}

/** Groups files for messages: at most 10 per message and `maxBytes` per message; too-large files are noted. */
export function groupFiles(files: ChatFile[], maxBytes: number): { groups: ChatFile[][]; skipped: string[] } {
  const groups: ChatFile[][] = [];
  const skipped: string[] = [];
  let current: ChatFile[] = [];
  let bytes = 0;
  for (const f of files) {
    if (f.content.length > maxBytes) {
      skipped.push(
        `\`${f.name}\` (${formatBytes(f.content.length)}) is over Discord's upload limit of ${formatBytes(maxBytes)} and was not attached; export it with \`aide export\`.`,
      );
      continue;
    }
    if (current.length >= L.filesPerMessage || bytes + f.content.length > maxBytes) {
      groups.push(current);
      current = [];
      bytes = 0;
    }
    current.push(f);
    bytes += f.content.length;
  }
  if (current.length) groups.push(current);
  return { groups, skipped };
}

/**
 * Renders a message as one or more Discord messages, in posting order. The first one is the message that
 * `post` returns a reference to (the one that is edited, or that a thread starts from).
 */
export function renderMessage(message: ChatMessage, options: RenderOptions = {}): DiscordPayload[] {
  const maxUpload = options.maxUploadBytes ?? L.uploadBytes;
  const mentions = [...new Set(message.mentions ?? [])];
  const allowedMentions: APIAllowedMentions = { parse: [], users: mentions };
  const prefix = mentions.map(mentionOf).join(" ");
  const buttons = message.blocks.flatMap((b) => (b.kind === "buttons" ? b.buttons : []));
  const components = buttonRows(buttons);
  const { groups, skipped } = groupFiles(message.files ?? [], maxUpload);
  const note = skipped.length ? skipped.map((s) => `-# ${s}`).join("\n") : "";
  const payloads: DiscordPayload[] = [];
  const make = (content: string, embeds: APIEmbed[] = []): DiscordPayload => ({
    content,
    embeds,
    components: [],
    files: [],
    allowedMentions,
  });

  if (message.blocks.length > 0 && isCard(message)) {
    const content = [prefix, note].filter(Boolean).join("\n");
    const embed = renderEmbed(message.blocks, options.color ?? BRAND);
    // A chart sent with a card is shown inside the embed.
    const image = groups[0]?.find((f) => f.mime === "image/png" || f.mime === "image/jpeg");
    if (image) embed.image = { url: `attachment://${image.name}` };
    payloads.push(make(truncateText(content, L.content), [embed]));
  } else {
    const body = message.blocks.length ? renderMarkdown(message.blocks) : message.text;
    const text = [prefix, body, note].filter(Boolean).join("\n");
    for (const chunk of splitContent(text, L.content)) payloads.push(make(chunk));
    if (payloads.length === 0) payloads.push(make(message.text ? truncateText(message.text, L.content) : "\u200b"));
  }
  payloads[payloads.length - 1]!.components = components;
  // Files: the first group with the last message, further groups as messages of their own.
  groups.forEach((group, i) => {
    if (i === 0) payloads[payloads.length - 1]!.files = group;
    else payloads.push({ ...make(""), files: group });
  });
  return payloads;
}

/** One message only (an edit replaces one message): the first payload, with later text dropped. */
export function renderSingle(message: ChatMessage, options: RenderOptions = {}): DiscordPayload {
  const [first, ...rest] = renderMessage(message, options);
  const components = rest.length ? rest[rest.length - 1]!.components : first!.components;
  if (rest.some((p) => p.content)) first!.content = truncateText(first!.content, L.content - 2);
  return { ...first!, components: first!.components.length ? first!.components : components };
}
