/**
 * Renders a platform-neutral ChatMessage as Slack Block Kit, within Slack's limits:
 * at most 50 blocks per message, 3,000 characters of text per section, 10 fields per section (2,000 characters
 * each), 150 characters of header text, 75 characters of button text, 2,000 characters of button value.
 * Text is light markdown (**bold**, `code`); Slack's mrkdwn wants *bold*, and &, <, > escaped.
 */
import type { ButtonAction, ChatBlock, ChatMessage } from "../../src/runs/chat/types.ts";
import { truncate } from "../../src/util/text.ts";

export const SLACK_LIMITS = {
  blocks: 50,
  sectionText: 3000,
  fieldsPerSection: 10,
  fieldText: 2000,
  headerText: 150,
  buttonText: 75,
  buttonValue: 2000,
  contextElements: 10,
  /** The top-level `text` (notification and fallback). Slack truncates at 40,000; keep it short. */
  fallbackText: 3000,
} as const;

/** Button action ids: `aide_pause`, `aide_resume`, `aide_stop`, `aide_more10`; the value is the run id. */
export const ACTION_PREFIX = "aide_";
export const BUTTON_ACTIONS: readonly ButtonAction[] = ["pause", "resume", "stop", "more10"];

export function actionId(action: ButtonAction): string {
  return `${ACTION_PREFIX}${action}`;
}

export function actionFromId(id: string): ButtonAction | null {
  if (!id.startsWith(ACTION_PREFIX)) return null;
  const action = id.slice(ACTION_PREFIX.length) as ButtonAction;
  return BUTTON_ACTIONS.includes(action) ? action : null;
}

export type SlackBlock = Record<string, unknown>;

export interface RenderedMessage {
  text: string;
  blocks: SlackBlock[];
}

export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** Light markdown to Slack mrkdwn: escaping, then **bold** -> *bold*. */
export function toMrkdwn(text: string): string {
  return escapeMrkdwn(text).replace(/\*\*(.+?)\*\*/gs, "*$1*");
}

export function mention(userId: string): string {
  return `<@${userId}>`;
}

function cut(text: string, max: number): string {
  return truncate(text, max);
}

/** Splits text into pieces of at most `max` characters, preferring line breaks. */
export function splitText(text: string, max: number): string[] {
  const out: string[] = [];
  let rest = text;
  while (rest.length > max) {
    let at = rest.lastIndexOf("\n", max);
    if (at < max / 2) at = max;
    out.push(rest.slice(0, at));
    rest = rest.slice(at).replace(/^\n/, "");
  }
  if (rest.length > 0 || out.length === 0) out.push(rest);
  return out;
}

function section(text: string): SlackBlock {
  return { type: "section", text: { type: "mrkdwn", text } };
}

function context(text: string): SlackBlock {
  return { type: "context", elements: [{ type: "mrkdwn", text: cut(text, SLACK_LIMITS.sectionText) }] };
}

/**
 * A code block in one section: as many whole lines as fit in 3,000 characters with the fences. Returns the
 * section and how many lines were shown.
 */
function codeSection(code: string): { block: SlackBlock; shown: number; total: number } {
  const lines = code.replace(/\s+$/, "").split("\n");
  const budget = SLACK_LIMITS.sectionText - "```\n\n```".length;
  let used = 0;
  let shown = 0;
  const kept: string[] = [];
  for (const line of lines) {
    const escaped = escapeMrkdwn(line);
    const cost = escaped.length + (shown > 0 ? 1 : 0);
    if (used + cost > budget) {
      if (shown === 0) kept.push(cut(escaped, budget));
      break;
    }
    kept.push(escaped);
    used += cost;
    shown += 1;
  }
  return {
    block: section(`\`\`\`\n${kept.join("\n")}\n\`\`\``),
    shown: Math.max(shown, kept.length),
    total: lines.length,
  };
}

function renderBlock(block: ChatBlock): SlackBlock[] {
  switch (block.kind) {
    case "header":
      return [
        {
          type: "header",
          text: { type: "plain_text", text: cut(block.text.trim() || " ", SLACK_LIMITS.headerText), emoji: true },
        },
      ];
    case "text":
      return splitText(toMrkdwn(block.text), SLACK_LIMITS.sectionText)
        .filter((t) => t.trim().length > 0)
        .map(section);
    case "fields": {
      const out: SlackBlock[] = [];
      for (let i = 0; i < block.fields.length; i += SLACK_LIMITS.fieldsPerSection) {
        const fields = block.fields.slice(i, i + SLACK_LIMITS.fieldsPerSection).map((f) => ({
          type: "mrkdwn",
          text: cut(`*${escapeMrkdwn(f.label)}*\n${toMrkdwn(f.value || "-")}`, SLACK_LIMITS.fieldText),
        }));
        if (fields.length > 0) out.push({ type: "section", fields });
      }
      return out;
    }
    case "code": {
      const { block: code, shown, total } = codeSection(block.code);
      // The message says itself when its snippet is cut (totalLines); a note is added only when Slack's
      // 3,000-character section limit cut it further.
      const out = [code];
      if (shown < total)
        out.push(
          context(`Showing ${shown} of ${Math.max(block.totalLines ?? total, total)} lines (Slack's size limit).`),
        );
      return out;
    }
    case "buttons": {
      if (block.buttons.length === 0) return [];
      const elements = block.buttons.slice(0, 25).map((b) => {
        const button: Record<string, unknown> = {
          type: "button",
          action_id: actionId(b.action),
          text: { type: "plain_text", text: cut(b.label, SLACK_LIMITS.buttonText), emoji: true },
          value: cut(b.runId, SLACK_LIMITS.buttonValue),
        };
        if (b.style) button.style = b.style;
        return button;
      });
      const runId = block.buttons[0]!.runId;
      return [{ type: "actions", block_id: cut(`aide_run_${runId}`, 255), elements }];
    }
    case "context":
      return block.text.trim() ? [context(toMrkdwn(block.text))] : [];
    case "link":
      // "<url|label>": the URL is ours (percent-encoded), the label is escaped like any text.
      return [
        context(
          cut(
            `<${block.url.replace(/[<>|]/g, encodeURIComponent)}|${escapeMrkdwn(block.label.replace(/[|]/g, "/"))}>`,
            SLACK_LIMITS.sectionText,
          ),
        ),
      ];
  }
}

/** ChatMessage -> { text, blocks } for chat.postMessage / chat.update / chat.postEphemeral. */
export function renderMessage(message: ChatMessage): RenderedMessage {
  const mentions = [...new Set(message.mentions ?? [])].map(mention).join(" ");
  let blocks = message.blocks.flatMap(renderBlock);
  if (mentions) blocks.push(section(mentions));
  if (blocks.length > SLACK_LIMITS.blocks) {
    // Keep the first 48, a note, and the last block (buttons or the mentions, which matter most at the end).
    const last = blocks.at(-1)!;
    blocks = [
      ...blocks.slice(0, SLACK_LIMITS.blocks - 2),
      context(`${blocks.length - SLACK_LIMITS.blocks + 1} more parts not shown.`),
      last,
    ];
  }
  const plain = toMrkdwn(message.text.trim() || "AIDE");
  const text = cut(mentions ? `${mentions} ${plain}` : plain, SLACK_LIMITS.fallbackText);
  return { text, blocks };
}
