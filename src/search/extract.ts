/**
 * Pulls the script and the plan out of a model's reply.
 *
 * Fences: a line starting (after at most three spaces) with three or more backticks or tildes opens a block;
 * the info word after it is the language (`python`, `py`, `Python3`, `py3`, `ipython`... count as Python;
 * an empty one counts when the content looks like Python; anything else, e.g. `bash` or `json`, never
 * counts). A block ends at a line holding only the same fence character, at least as many times. A block
 * left open at the end of the reply (a cut-off answer) runs to the end.
 *
 * Choosing among several Python blocks:
 *  1. A "complete" block imports something and produces the task's results (mentions `submission` or
 *     `AIDE_METRIC`). If any block is complete, the longest complete block wins (the later
 *     one on a tie, since models put their final version last).
 *  2. Otherwise the blocks are joined, in order, only when they clearly are pieces of one script: no block
 *     alone is complete, together they are, the first block holds imports, and no top-level function or
 *     class is defined in more than one block (a redefinition means the blocks are alternatives, not pieces).
 *  3. Otherwise the longest block wins.
 * With no fence at all, the reply is taken as code when, from its first code-like line on, it is plainly
 * Python (see `looksLikePython`); the prose before that line is the plan.
 */
import { METRIC_LINE_PREFIX } from "./metric.ts";

interface Block {
  lang: string;
  content: string;
  /** Character offsets in the reply of the opening and closing fence lines. */
  start: number;
  end: number;
}

const PYTHON_LANGS = new Set(["python", "python3", "py", "py3", "ipython", "ipython3", "python2", "sage"]);

/** Splits a reply into fenced blocks (in order), keeping their positions. */
function findBlocks(reply: string): Block[] {
  const blocks: Block[] = [];
  const lines = reply.split("\n");
  let offset = 0;
  let open: { char: string; len: number; lang: string; start: number; body: string[] } | null = null;
  for (const rawLine of lines) {
    const line = rawLine.replace(/\r$/, "");
    const lineStart = offset;
    offset += rawLine.length + 1;
    if (!open) {
      const m = /^ {0,3}(`{3,}|~{3,})\s*([^\s`]*)[^`]*$/.exec(line);
      if (m) {
        const fence = m[1]!;
        open = { char: fence[0]!, len: fence.length, lang: (m[2] ?? "").toLowerCase(), start: lineStart, body: [] };
      }
      continue;
    }
    const close = /^ {0,3}(`{3,}|~{3,})\s*$/.exec(line);
    if (close && close[1]![0] === open.char && close[1]!.length >= open.len) {
      blocks.push({ lang: open.lang, content: open.body.join("\n"), start: open.start, end: offset });
      open = null;
      continue;
    }
    open.body.push(line);
  }
  if (open) blocks.push({ lang: open.lang, content: open.body.join("\n"), start: open.start, end: reply.length });
  return blocks;
}

function isPythonLang(lang: string): boolean {
  return PYTHON_LANGS.has(lang.replace(/^\{?\.?/, "").replace(/\}$/, ""));
}

const IMPORT_RE = /^\s*(import\s+[\w.]+|from\s+[\w.]+\s+import\s+)/m;

/** Imports something and produces the task's results (mentions the submission or the metric line). */
function isCompleteScript(code: string): boolean {
  return IMPORT_RE.test(code) && (/submission/i.test(code) || code.includes(METRIC_LINE_PREFIX));
}

function topLevelDefinitions(code: string): string[] {
  return [...code.matchAll(/^(?:async\s+)?(?:def|class)\s+(\w+)/gm)].map((m) => m[1]!);
}

const STRONG_LINE =
  /^(import\s+[\w.]+|from\s+[\w.]+\s+import\s+\S|def\s+\w+\s*\(|class\s+\w+\s*[(:]|async\s+def\s+\w+|if\s+__name__\s*==|print\s*\(|@\w+)/;
const CODE_LINE =
  /^(#|@|import\b|from\b|def\b|class\b|if\b|elif\b|else\s*:|for\b|while\b|with\b|try\s*:|except\b|finally\s*:|return\b|yield\b|raise\b|pass\b|break\b|continue\b|assert\b|global\b|lambda\b|del\b|"""|'''|[)\]}])|^[\w.[\]'", ]+\s*(=|\+=|-=|\*=|\/=|:)|\w\s*\(.*\)?\s*$|[()[\]{}=]\s*$|^[\w."'[\]()]+\s*$/;

/** A line of ordinary English: several plain words, no code punctuation. */
function isProseLine(line: string): boolean {
  const t = line.trim();
  if (t.startsWith("#")) return false;
  if (/[=(){}[\]_]|^\s*(import|from|def|class|return)\b/.test(t)) return false;
  return t.split(/\s+/).length >= 5;
}

/**
 * True when `code` reads as Python: at least one strong signal (an import, a def/class, a print call...)
 * and at most a small share of lines that read as English prose. Lines inside triple-quoted strings are
 * not counted against it.
 */
export function looksLikePython(code: string): boolean {
  const lines = stripTripleQuoted(code)
    .split("\n")
    .map((l) => l.trimEnd())
    .filter((l) => l.trim().length > 0);
  if (lines.length === 0) return false;
  const strong = lines.filter((l) => STRONG_LINE.test(l.trim())).length;
  if (strong === 0) return false;
  const prose = lines.filter(isProseLine).length;
  const codeLike = lines.filter((l) => CODE_LINE.test(l.trim()) || /^\s+\S/.test(l)).length;
  return prose / lines.length <= 0.15 && codeLike / lines.length >= 0.6;
}

function stripTripleQuoted(code: string): string {
  return code.replace(/("""|''')[\s\S]*?\1/g, '""');
}

/** Prefers the longest, and the later one on a tie. */
function longest(blocks: Block[]): Block {
  return blocks.reduce((best, b) => (b.content.trim().length >= best.content.trim().length ? b : best));
}

function pythonBlocks(reply: string): Block[] {
  return findBlocks(reply).filter(
    (b) => b.content.trim().length > 0 && (isPythonLang(b.lang) || (b.lang === "" && looksLikePython(b.content))),
  );
}

function chooseCode(blocks: Block[]): string {
  if (blocks.length === 1) return blocks[0]!.content;
  const complete = blocks.filter((b) => isCompleteScript(b.content));
  if (complete.length > 0) return longest(complete).content;
  const joined = blocks.map((b) => b.content.replace(/\s+$/, "")).join("\n\n");
  const defs = blocks.flatMap((b) => [...new Set(topLevelDefinitions(b.content))]);
  const redefined = new Set(defs).size !== defs.length;
  if (!redefined && IMPORT_RE.test(blocks[0]!.content) && isCompleteScript(joined)) return joined;
  return longest(blocks).content;
}

/** Index of the first line from which an unfenced reply is plainly Python, or -1. */
function unfencedCodeStart(lines: string[]): number {
  return lines.findIndex(
    (l) => /^(import\s+[\w.]+|from\s+[\w.]+\s+import\s|#!|def\s+\w+\s*\(|class\s+\w+)/.test(l.trim()) && !/^\s/.test(l),
  );
}

/** The script in a reply, or null when the reply holds no usable Python. */
export function extractCode(reply: string): string | null {
  if (!reply?.trim()) return null;
  const blocks = pythonBlocks(reply);
  if (blocks.length > 0) {
    const code = chooseCode(blocks)
      .replace(/^\s*\n/, "")
      .replace(/\s+$/, "");
    return code.trim() ? `${code}\n` : null;
  }
  if (findBlocks(reply).length > 0) return null; // fenced, but nothing in it is Python
  const lines = reply.split("\n");
  const start = unfencedCodeStart(lines);
  if (start < 0) return null;
  const code = lines.slice(start).join("\n").replace(/\s+$/, "");
  return looksLikePython(code) ? `${code}\n` : null;
}

function firstSentences(text: string, max: number): string {
  const sentences = text
    .replace(/\s+/g, " ")
    .trim()
    .match(/[^.!?]+(?:[.!?]+(?=\s|$)|$)/g);
  return (sentences ?? []).slice(0, max).join("").trim();
}

/** Removes a leading "Plan:" label or a heading line that only names the plan. */
function tidyPlan(text: string): string {
  return text
    .trim()
    .replace(/^#{1,6}\s*(plan|approach|solution plan|bug fix|fix|improvement)\s*:?\s*\n+/i, "")
    .replace(/^\**(plan|approach|solution plan|bug fix|fix|improvement)\s*:?\**\s*:?\s*/i, "")
    .trim();
}

/**
 * The plan: the prose before the first code block, trimmed. When there is none (the reply opens with code),
 * the first few sentences of the prose after the code; "" when the reply has no prose at all.
 */
export function extractPlan(reply: string): string {
  const blocks = findBlocks(reply);
  let before: string;
  let rest: string;
  if (blocks.length > 0) {
    before = reply.slice(0, blocks[0]!.start);
    rest = reply.slice(blocks[blocks.length - 1]!.end);
  } else {
    const lines = reply.split("\n");
    const start = unfencedCodeStart(lines);
    before = start < 0 ? reply : lines.slice(0, start).join("\n");
    rest = "";
  }
  const plan = tidyPlan(before);
  if (plan) return plan;
  return firstSentences(tidyPlan(rest), 5);
}
