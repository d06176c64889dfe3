/**
 * Parsing of what people type in chat: `/aide ...` commands and replies in a run's thread. Pure functions; bad
 * input becomes `{ kind: "invalid", problem }` (a short sentence for the help text), never an exception.
 *
 * The text is plain: each platform adapter has already turned its markup into it (Slack's `<url|label>`,
 * `<@U1>` and `&amp;` in bots/slack/translate.ts, Discord's `<url>` and mentions in bots/discord/translate.ts)
 * and removed the mentions a message is addressed with.
 */
import type { SteerCommand } from "../../search/types.ts";
import { truncate } from "../../util/text.ts";
import { readRunOption } from "../run-options.ts";
import { parseSteer } from "../steer-parse.ts";

export interface StartCommand {
  kind: "start";
  /** The task description, links removed, whitespace collapsed. */
  task: string;
  /** http(s) links found anywhere in the text, in order, unique. */
  links: string[];
  steps?: number;
  metric?: string;
  timeoutSec?: number;
  parallel?: number;
  /** The share of labelled rows held out; null: `--no-holdout`. */
  holdout?: number | null;
}

export type ParsedCommand =
  | StartCommand
  | { kind: "status"; runId?: string }
  | { kind: "list" }
  | { kind: "stop"; runId: string }
  | { kind: "help" }
  | { kind: "invalid"; problem: string };

export type ParsedReply =
  /** pause, resume, stop, more N, focus <node>, debug <node>, or free-text guidance. */
  | { kind: "steer"; command: SteerCommand }
  | { kind: "status" }
  | { kind: "best" }
  | { kind: "tree" }
  | { kind: "chart" }
  | { kind: "verbose"; on: boolean }
  | { kind: "follow" }
  | { kind: "unfollow" }
  | { kind: "help" }
  | { kind: "invalid"; problem: string };

const BARE_LINK = /https?:\/\/[^\s<>]+/gi;
/** Slack (and phones) turn `--` into an em or en dash; accept those as flag prefixes too. */
const FLAG = /^(?:--|\u2014|\u2013)([a-z][a-z-]*)(?:=(.*))?$/i;
const RUN_ID = /^[A-Za-z0-9_-]{1,128}$/;
/** The options of `/aide start` and the fields of StartCommand they set. */
const START_OPTIONS = {
  steps: "steps",
  parallel: "parallel",
  timeout: "timeoutSec",
  metric: "metric",
  holdout: "holdout",
} as const satisfies Record<string, keyof StartCommand>;
const OPTIONS_HELP =
  "Options: --steps N, --metric NAME, --timeout DURATION, --parallel K, --holdout SHARE, --no-holdout.";

/** A piece of the user's input quoted in a message, cut so that a huge token cannot blow up the answer. */
function echo(value: string, max = 40): string {
  return truncate(value, max);
}

/** Removes punctuation that ends a sentence rather than a URL ("see https://x/data.csv."). */
function trimLink(url: string): string {
  // One pass from the end (a link thousands of characters long must not cost quadratic time).
  const balanced = url.includes("(");
  let end = url.length;
  while (end > 0 && (`.,;:!?'"`.includes(url[end - 1]!) || (url[end - 1] === ")" && !balanced))) end--;
  return url.slice(0, end);
}

/** Finds the links in a text and returns the text without them. */
export function extractLinks(text: string): { text: string; links: string[] } {
  const links: string[] = [];
  /** Adds a link; false when nothing is left of it after trimming ("http://." is no link). */
  const add = (url: string): boolean => {
    if (!/^https?:\/\/[^\s<>]/i.test(url)) return false;
    if (!links.includes(url)) links.push(url);
    return true;
  };
  const rest = text.replace(BARE_LINK, (m) => {
    const trimmed = trimLink(m);
    if (!add(trimmed)) return m;
    return ` ${m.slice(trimmed.length)}`;
  });
  return { text: rest, links };
}

function parseStart(rest: string): StartCommand | { kind: "invalid"; problem: string } {
  const { text, links } = extractLinks(rest);
  const tokens = text.split(/\s+/).filter(Boolean);
  const words: string[] = [];
  const out: StartCommand = { kind: "start", task: "", links };
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    const flag = FLAG.exec(token);
    if (!flag) {
      words.push(token);
      continue;
    }
    const name = flag[1]!.toLowerCase();
    if (name === "no-holdout" && flag[2] === undefined) {
      out.holdout = null;
      continue;
    }
    if (!Object.hasOwn(START_OPTIONS, name))
      return { kind: "invalid", problem: `Unknown option --${echo(name)}. ${OPTIONS_HELP}` };
    let value = flag[2];
    if (value === undefined) {
      const next = tokens[i + 1];
      if (next === undefined || FLAG.test(next)) return { kind: "invalid", problem: `--${name} needs a value.` };
      value = next;
      i++;
    }
    // Read and checked as every entry point does: the limits are the run options' (src/runs/run-options.ts).
    const option = name as keyof typeof START_OPTIONS;
    const read = readRunOption(option, value);
    if ("problem" in read) return { kind: "invalid", problem: read.problem };
    Object.assign(out, { [START_OPTIONS[option]]: read.value });
  }
  out.task = words.join(" ").trim();
  return out;
}

/**
 * Parses the text after `/aide` (or after a mention of the bot). Empty text is `help`. A leading `aide` or
 * `/aide` (people type it in mentions) is ignored.
 */
export function parseCommand(input: string): ParsedCommand {
  const text = input.trim().replace(/^\/?aide\b\s*/i, "");
  if (!text) return { kind: "help" };
  const m = /^(\S+)\s*([\s\S]*)$/.exec(text)!;
  const verb = m[1]!.toLowerCase();
  const rest = m[2]!.trim();
  switch (verb) {
    case "help":
    case "?":
    case "-h":
    case "--help":
      return { kind: "help" };
    case "start":
    case "run":
      return parseStart(rest);
    case "list":
    case "ls":
      if (rest) return { kind: "invalid", problem: `"list" takes no arguments.` };
      return { kind: "list" };
    case "status": {
      if (!rest) return { kind: "status" };
      const id = rest.split(/\s+/);
      if (id.length > 1 || !RUN_ID.test(id[0]!))
        return { kind: "invalid", problem: `"status" takes one run id, e.g. "status r1a2b3c4d".` };
      return { kind: "status", runId: id[0]! };
    }
    case "stop": {
      const id = rest.split(/\s+/).filter(Boolean);
      if (id.length !== 1 || !RUN_ID.test(id[0]!))
        return { kind: "invalid", problem: `"stop" takes the run id, e.g. "stop r1a2b3c4d" (see "list").` };
      return { kind: "stop", runId: id[0]! };
    }
    default:
      return { kind: "invalid", problem: `Unknown command "${echo(m[1]!)}".` };
  }
}

/**
 * Drops trailing "." and "!" ("stop!", "pause."). A loop, not `/[.!]+$/`: that regex retries from every
 * position of a long run of dots and takes seconds on a 40,000-character message.
 */
function withoutTrailingPunctuation(s: string): string {
  let end = s.length;
  while (end > 0 && (s[end - 1] === "." || s[end - 1] === "!")) end--;
  return s.slice(0, end);
}

/**
 * Parses a reply in a run's thread. Chat commands (status, best, tree, chart, verbose on|off, follow, unfollow, help)
 * first; then steering (pause, resume, stop, more N, focus <node>, debug <node>); anything else is guidance.
 * Mentions the reply is addressed with were removed by the platform adapter.
 */
export function parseReply(input: string, author?: string): ParsedReply {
  const text = input.trim();
  if (!text) return { kind: "help" };
  const lower = withoutTrailingPunctuation(text.toLowerCase());
  switch (lower) {
    case "status":
      return { kind: "status" };
    case "best":
      return { kind: "best" };
    case "tree":
      return { kind: "tree" };
    case "chart":
    case "plot":
      return { kind: "chart" };
    case "follow":
      return { kind: "follow" };
    case "unfollow":
      return { kind: "unfollow" };
    case "help":
    case "?":
      return { kind: "help" };
  }
  const verbose = /^verbose(?:\s+(\S+))?$/.exec(lower);
  if (verbose) {
    const v = verbose[1];
    if (v === "on" || v === "true" || v === "yes") return { kind: "verbose", on: true };
    if (v === "off" || v === "false" || v === "no") return { kind: "verbose", on: false };
    return { kind: "invalid", problem: `"verbose" takes on or off, e.g. "verbose on".` };
  }
  const parsed = parseSteer(["pause", "resume", "stop"].includes(lower) ? lower : text, author);
  if ("error" in parsed) return { kind: "invalid", problem: parsed.error };
  return { kind: "steer", command: parsed.command };
}
