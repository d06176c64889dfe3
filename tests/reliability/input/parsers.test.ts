/**
 * Bad input, part 1: property-based tests (fast-check) of what people type in chat: `/aide ...` commands
 * (parseCommand), replies in a run's thread (parseReply) and steering text (parseSteer, also used by
 * `aide steer`). Properties: total (never throws, whatever the text), every failure carries a short
 * user-facing sentence, round trips (a command built from parts parses back to those parts), mentions and
 * Slack's link markup change nothing once the platform adapter has translated the text (bots/slack/translate.ts,
 * bots/discord/translate.ts: the neutral parser reads plain text), guidance keeps the user's text exactly
 * (unicode, code fences).
 * Long adversarial inputs (4 million characters) must finish: a regex that backtracks quadratically or worse would run into
 * the test timeout (no timing is measured; the input size is what is bounded).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  extractLinks,
  parseCommand,
  parseReply,
  type ParsedCommand,
  type ParsedReply,
} from "../../../src/runs/chat/commands.ts";
import { discordReplyText, discordText } from "../../../bots/discord/translate.ts";
import { mentions, replyText, slackText, withoutMention } from "../../../bots/slack/translate.ts";
import { parseDurationSec } from "../../../src/runs/duration.ts";
import { RUN_OPTION_LIMITS as LIMITS } from "../../../src/run-options-schema.ts";
import { parseSteer } from "../../../src/runs/steer-parse.ts";

/** Runs per property (docs/reliability.md quotes these). */
const PROPERTY_RUNS = { totality: 2000, roundTrip: 500 } as const;

const COMMAND_KINDS = new Set(["start", "status", "list", "stop", "help", "invalid"]);
const REPLY_KINDS = new Set(["steer", "status", "best", "tree", "verbose", "follow", "unfollow", "help", "invalid"]);

/** A message fit for a user: a short sentence, no internals. */
function expectUserFacing(problem: unknown): void {
  expect(typeof problem).toBe("string");
  const p = problem as string;
  expect(p.trim().length).toBeGreaterThan(0);
  expect([...p].length).toBeLessThanOrEqual(300);
  expect(p).not.toMatch(/\[object |\n\s+at |TypeError|RangeError|SyntaxError/);
}

function checkCommand(c: ParsedCommand): void {
  expect(COMMAND_KINDS.has(c.kind)).toBe(true);
  if (c.kind === "invalid") expectUserFacing(c.problem);
  if (c.kind === "start") {
    for (const link of c.links) expect(link).toMatch(/^https?:\/\/\S+$/i);
    expect(new Set(c.links).size).toBe(c.links.length);
    if (c.steps !== undefined) expect(c.steps >= 1 && c.steps <= LIMITS.steps.max).toBe(true);
    if (c.parallel !== undefined) expect(c.parallel >= 1 && c.parallel <= LIMITS.parallel.max).toBe(true);
    if (c.timeoutSec !== undefined)
      expect(c.timeoutSec >= LIMITS.timeoutSec.min && c.timeoutSec <= LIMITS.timeoutSec.max).toBe(true);
  }
  if (c.kind === "stop" || (c.kind === "status" && c.runId !== undefined))
    expect(c.runId).toMatch(/^[A-Za-z0-9_-]{1,128}$/);
}

function checkReply(r: ParsedReply): void {
  expect(REPLY_KINDS.has(r.kind)).toBe(true);
  if (r.kind === "invalid") expectUserFacing(r.problem);
  if (r.kind === "steer" && r.command.kind === "more")
    expect(r.command.steps >= 1 && r.command.steps <= LIMITS.steps.max).toBe(true);
  if (r.kind === "steer" && (r.command.kind === "focus" || r.command.kind === "debug"))
    expect(Number.isInteger(r.command.node) && r.command.node >= 0).toBe(true);
  if (r.kind === "steer" && r.command.kind === "guidance") expect(r.command.text.trim().length).toBeGreaterThan(0);
}

// ---------------------------------------------------------------------------------------------------------
// Generators

/** Characters people type: ASCII, accents, CJK, emoji (with ZWJ), markup, dashes Slack makes of "--". */
const CHAR = fc.constantFrom(
  "a",
  "b",
  "Z",
  "0",
  "7",
  " ",
  " ",
  "\t",
  "\n",
  "é",
  "ß",
  "ø",
  "漢",
  "字",
  "🙂",
  "👩‍🔬",
  "\u200b",
  "\u0000",
  "\u202e",
  "_",
  ".",
  ",",
  ";",
  ":",
  "!",
  "?",
  "'",
  '"',
  "(",
  ")",
  "[",
  "]",
  "{",
  "}",
  "`",
  "```",
  "#",
  "*",
  "~",
  "|",
  "&",
  "&amp;",
  "<",
  ">",
  "<@U123>",
  "<@U9|ada>",
  "<!here>",
  "/",
  "\\",
  "=",
  "+",
  "-",
  "--",
  "\u2014",
  "\u2013",
  "%",
  "$",
  "http://",
  "https://",
  "<https://x.test/a.zip|a.zip>",
  "<http://",
  "aide",
  "/aide",
  "start",
  "stop",
  "more",
  "focus",
  "#3",
  "--steps",
  "--parallel",
  "--timeout",
  "--metric",
  "10",
  "1000",
  "-1",
  "1e3",
  "0x10",
  "NaN",
  "Infinity",
  "pause",
  "resume",
);
/** Free text built from those pieces, up to 400 pieces (a few thousand characters). */
const chatText = fc.array(CHAR, { maxLength: 400 }).map((parts) => parts.join(""));
/** Any string at all (UTF-16 code units, lone surrogates included). */
const anyText = fc.string({ unit: "binary", maxLength: 2000 });

const WORD_CHAR = fc.constantFrom(
  "a",
  "q",
  "Z",
  "3",
  "é",
  "漢",
  "🙂",
  "_",
  ".",
  ",",
  "'",
  "(",
  ")",
  "`",
  "#",
  "-",
  "?",
  "&",
  "|",
  "*",
  "~",
);
/** A task word: never a flag (leading -- or a dash), never a link, never markup. */
const taskWord = fc
  .array(WORD_CHAR, { minLength: 1, maxLength: 10 })
  .map((c) => c.join(""))
  .filter((w) => !/^(?:--|\u2014|\u2013)/.test(w));

const label = fc.stringMatching(/^[a-z0-9]{1,8}$/);
const httpLink = fc
  .record({
    scheme: fc.constantFrom("http", "https"),
    host: fc.array(label, { minLength: 1, maxLength: 3 }).map((l) => `${l.join(".")}.test`),
    port: fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined }),
    path: fc.array(label, { maxLength: 3 }),
    file: fc.tuple(label, fc.constantFrom("csv", "zip", "tar.gz", "tsv")).map(([n, e]) => `${n}.${e}`),
    query: fc.option(fc.array(fc.tuple(label, label), { minLength: 1, maxLength: 3 }), { nil: undefined }),
  })
  .map((u) => {
    const q = u.query ? `?${u.query.map(([k, v]) => `${k}=${v}`).join("&")}` : "";
    return `${u.scheme}://${u.host}${u.port ? `:${u.port}` : ""}/${[...u.path, u.file].join("/")}${q}`;
  });

type LinkForm = "bare" | "slack-escaped" | "wrapped" | "wrapped-label";
function renderLink(url: string, form: LinkForm, text: string): string {
  const escaped = url.replace(/&/g, "&amp;");
  switch (form) {
    case "bare":
      return url;
    case "slack-escaped":
      return escaped;
    case "wrapped":
      return `<${escaped}>`;
    case "wrapped-label":
      return `<${escaped}|${text}>`;
  }
}

const flagPrefix = fc.constantFrom("--", "\u2014", "\u2013");
const flagCase = fc.constantFrom(
  (s: string) => s,
  (s: string) => s.toUpperCase(),
  (s: string) => s[0]!.toUpperCase() + s.slice(1),
);
const metricName = fc.stringMatching(/^[A-Za-z0-9_@.+][A-Za-z0-9_@.+-]{0,20}$/);
const timeoutText = fc.oneof(
  fc.integer({ min: LIMITS.timeoutSec.min, max: LIMITS.timeoutSec.max }).map((s) => ({ text: `${s}s`, sec: s })),
  fc.integer({ min: 1, max: 1440 }).map((m) => ({ text: `${m}m`, sec: m * 60 })),
  fc.integer({ min: 1, max: 24 }).map((h) => ({ text: `${h}h`, sec: h * 3600 })),
  fc
    .tuple(fc.integer({ min: 0, max: 23 }), fc.integer({ min: 1, max: 59 }))
    .map(([h, m]) => ({ text: `${h}h${m}m`, sec: h * 3600 + m * 60 })),
  fc.integer({ min: LIMITS.timeoutSec.min, max: 9999 }).map((s) => ({ text: String(s), sec: s })),
);

interface FlagPart {
  name: "steps" | "parallel" | "metric" | "timeout";
  value: string;
}

// ---------------------------------------------------------------------------------------------------------

describe("chat parsers: totality", () => {
  it("parseCommand, parseReply and parseSteer never throw and every refusal is a short user-facing sentence", () => {
    fc.assert(
      fc.property(fc.oneof(chatText, anyText), (text) => {
        checkCommand(parseCommand(text));
        checkCommand(parseCommand(`start ${text}`));
        checkReply(parseReply(text));
        checkReply(parseReply(text, "Ada"));
        // What the adapters hand the parser, from the same text.
        checkCommand(parseCommand(slackText(text)));
        checkReply(parseReply(replyText(text, "U123"), "Ada"));
        checkCommand(parseCommand(discordText(text)));
        checkReply(parseReply(discordReplyText(text), "Ada"));
        const steer = parseSteer(text);
        if ("error" in steer) expectUserFacing(steer.error);
        else expect(["guidance", "pause", "resume", "stop", "more", "focus", "debug"]).toContain(steer.command.kind);
      }),
      { numRuns: PROPERTY_RUNS.totality },
    );
  });

  it("links found in any text are http(s), without markup, and unique", () => {
    fc.assert(
      fc.property(fc.oneof(chatText, anyText), (raw) => {
        // As the Slack adapter hands it over (its link markup unwrapped), and as typed.
        for (const text of [slackText(raw), raw]) {
          const { links, text: rest } = extractLinks(text);
          expect(new Set(links).size).toBe(links.length);
          for (const l of links) {
            expect(l).toMatch(/^https?:\/\/[^\s<>]+$/i);
            expect(l).not.toMatch(/[.,;:!?'"]$/);
          }
          if (text !== raw) expect(rest).not.toMatch(/<https?:\/\/[^<>|\s]+(?:\|[^<>]*)?>/i);
        }
      }),
      { numRuns: PROPERTY_RUNS.totality },
    );
  });
});

describe("chat parsers: round trips", () => {
  it("a /aide start built from a task, links (bare or in Slack's markup) and flags parses back to exactly those, through the Slack adapter's text", () => {
    const flags = fc.record(
      {
        steps: fc.integer({ min: 1, max: LIMITS.steps.max }),
        parallel: fc.integer({ min: 1, max: LIMITS.parallel.max }),
        metric: metricName,
        timeout: timeoutText,
      },
      { requiredKeys: [] },
    );
    const item = fc.oneof(
      taskWord.map((w) => ({ kind: "word" as const, w })),
      fc
        .tuple(
          httpLink,
          fc.constantFrom<LinkForm>("bare", "slack-escaped", "wrapped", "wrapped-label"),
          fc.stringMatching(/^[a-z .]{0,12}$/),
        )
        .map(([url, form, text]) => ({ kind: "link" as const, url, form, text })),
    );
    fc.assert(
      fc.property(
        fc.array(item, { maxLength: 25 }),
        flags,
        fc.array(fc.integer({ min: 0, max: 30 }), { minLength: 4, maxLength: 4 }),
        fc.array(fc.tuple(flagPrefix, flagCase, fc.boolean()), { minLength: 4, maxLength: 4 }),
        fc.constantFrom("", "aide ", "/aide ", "AIDE "),
        fc.constantFrom("start", "run", "START", "Run"),
        fc.constantFrom(" ", "  ", "\n", " \t "),
        (items, f, positions, forms, prefix, verb, sep) => {
          const parts: FlagPart[] = [];
          if (f.steps !== undefined) parts.push({ name: "steps", value: String(f.steps) });
          if (f.parallel !== undefined) parts.push({ name: "parallel", value: String(f.parallel) });
          if (f.metric !== undefined) parts.push({ name: "metric", value: f.metric });
          if (f.timeout !== undefined) parts.push({ name: "timeout", value: f.timeout.text });
          // Each flag goes in whole (name and value together) anywhere among the words and links.
          const units: string[][] = items.map((it) => [
            it.kind === "word" ? it.w : renderLink(it.url, it.form, it.text),
          ]);
          parts.forEach((p, i) => {
            const [dash, cased, withEquals] = forms[i]!;
            const flag = `${dash}${cased(p.name)}`;
            units.splice(
              Math.min(positions[i]!, units.length),
              0,
              withEquals ? [`${flag}=${p.value}`] : [flag, p.value],
            );
          });
          const parsed = parseCommand(slackText(`${prefix}${verb}${sep}${units.flat().join(sep)}`));

          const expected: Record<string, unknown> = {
            kind: "start",
            task: items.flatMap((it) => (it.kind === "word" ? [it.w] : [])).join(" "),
            // In the order written, whatever their form (the adapter unwrapped Slack's markup in place).
            links: [...new Set(items.flatMap((it) => (it.kind === "link" ? [it.url] : [])))],
          };
          if (f.steps !== undefined) expected.steps = f.steps;
          if (f.parallel !== undefined) expected.parallel = f.parallel;
          if (f.metric !== undefined) expected.metric = f.metric;
          if (f.timeout !== undefined) expected.timeoutSec = f.timeout.sec;
          expect(parsed).toEqual(expected);
        },
      ),
      { numRuns: PROPERTY_RUNS.roundTrip },
    );
  });

  it("flag values out of range are refused, naming the flag, never clamped or ignored", () => {
    const bad = fc.oneof(
      fc
        .oneof(fc.integer({ min: LIMITS.steps.max + 1, max: 10 ** 12 }), fc.integer({ min: -1000, max: 0 }))
        .map((n) => ({ flag: "steps", value: String(n) })),
      fc
        .oneof(fc.integer({ min: LIMITS.parallel.max + 1, max: 10 ** 6 }), fc.constant(0))
        .map((n) => ({ flag: "parallel", value: String(n) })),
      fc
        .tuple(
          fc.constantFrom("steps", "parallel"),
          fc.constantFrom("1.5", "1e2", "0x10", "ten", "NaN", "Infinity", "٣", "１０"),
        )
        .map(([flag, value]) => ({ flag, value })),
      fc
        .oneof(
          fc.integer({ min: 0, max: LIMITS.timeoutSec.min - 1 }).map((s) => `${s}s`),
          fc.integer({ min: 25, max: 10_000 }).map((h) => `${h}h`),
          fc.constantFrom("soon", "-5m", "1d", "m", "5mx"),
        )
        .map((v) => ({ flag: "timeout", value: v })),
      fc
        .constantFrom("r,m", "a/b", "x".repeat(65), "métrique", "<x>", "a|b")
        .map((v) => ({ flag: "metric", value: v })),
    );
    fc.assert(
      fc.property(bad, fc.boolean(), ({ flag, value }, equals) => {
        const text = equals
          ? `start t https://a.test/d.csv --${flag}=${value}`
          : `start t https://a.test/d.csv --${flag} ${value}`;
        const parsed = parseCommand(text);
        expect(parsed.kind).toBe("invalid");
        if (parsed.kind === "invalid") {
          expect(parsed.problem).toContain(`--${flag}`);
          expectUserFacing(parsed.problem);
        }
      }),
      { numRuns: PROPERTY_RUNS.roundTrip },
    );
  });

  it("steering commands round trip whatever their case, punctuation and leading mentions (through each adapter)", () => {
    // Slack's mentions go through the Slack adapter's reply text, Discord's (users with !, roles with &) through Discord's.
    const mention = fc.constantFrom(
      { m: "", read: (t: string) => t },
      { m: "<@U123> ", read: (t: string) => replyText(t, "UBOT") },
      { m: "<@U1><@U2|bob> ", read: (t: string) => replyText(t, "UBOT") },
      { m: "<@UBOT> ", read: (t: string) => replyText(t, "UBOT") },
      { m: "<@!4242> ", read: discordReplyText },
      { m: "<@&77> ", read: discordReplyText },
    );
    const cased = fc.constantFrom(
      (s: string) => s,
      (s: string) => s.toUpperCase(),
      (s: string) => s[0]!.toUpperCase() + s.slice(1),
    );
    const punct = fc.constantFrom("", ".", "!", "!!", "...");
    const command = fc.oneof(
      fc.constantFrom("pause", "resume", "stop").map((k) => ({ text: k, kind: k, punct: true })),
      fc
        .tuple(
          fc.integer({ min: 1, max: LIMITS.steps.max }),
          fc.constantFrom("more N", "more N steps", "+N", "more  N step"),
        )
        .map(([n, form]) => ({ text: form.replace("N", String(n)), kind: "more", steps: n, punct: false })),
      fc
        .tuple(
          fc.constantFrom("focus", "debug"),
          fc.integer({ min: 0, max: 100_000 }),
          fc.constantFrom("N", "#N", "node N", "on node N", "on #N"),
        )
        .map(([k, n, form]) => ({ text: `${k} ${form.replace("N", String(n))}`, kind: k, node: n, punct: false })),
    );
    fc.assert(
      fc.property(mention, cased, punct, command, fc.constantFrom("", " ", "\n"), ({ m, read }, c, p, cmd, pad) => {
        const text = `${pad}${m}${c(cmd.text)}${cmd.punct ? p : ""}${pad}`;
        const r = parseReply(read(text), "Ada");
        expect(r.kind).toBe("steer");
        if (r.kind !== "steer") return;
        expect(r.command.kind).toBe(cmd.kind);
        if ("steps" in cmd) expect(r.command).toEqual({ kind: "more", steps: cmd.steps });
        if ("node" in cmd) expect(r.command).toEqual({ kind: cmd.kind, node: cmd.node });
      }),
      { numRuns: PROPERTY_RUNS.roundTrip },
    );
  });

  it("more and focus with a bad argument are refused with a message, never taken as guidance", () => {
    const bad = fc.oneof(
      fc
        .oneof(fc.integer({ min: LIMITS.steps.max + 1, max: 10 ** 9 }), fc.integer({ min: -100, max: 0 }))
        .map((n) => `more ${n}`),
      fc.constantFrom("more", "more lots", "more 2.5", "+", "+x", "more NaN", "more Infinity"),
      fc
        .tuple(fc.constantFrom("focus", "debug"), fc.constantFrom("", "x", "-1", "1.5", "#", "node", "#-2", "NaN"))
        .map(([k, a]) => `${k} ${a}`.trim()),
    );
    fc.assert(
      fc.property(bad, (text) => {
        const r = parseReply(text);
        expect(r.kind).toBe("invalid");
        if (r.kind === "invalid") expectUserFacing(r.problem);
      }),
      { numRuns: PROPERTY_RUNS.roundTrip },
    );
  });

  it("guidance keeps the user's text exactly: unicode, code fences, markup", () => {
    const fenced = fc.tuple(chatText, chatText).map(([a, b]) => `try this:\n\`\`\`python\n${a}\n\`\`\`\n${b}`);
    const guidance = fc.oneof(chatText, anyText, fenced).map((t) => `please ${t}`);
    fc.assert(
      fc.property(guidance, (text) => {
        const r = parseReply(text, "Ada");
        const kept = text.trim();
        // Replies that are commands after all ("please" is never one) are covered above.
        expect(r).toEqual({ kind: "steer", command: { kind: "guidance", text: kept, author: "Ada" } });
      }),
      { numRuns: PROPERTY_RUNS.roundTrip },
    );
  });

  it("a leading mention of the bot never changes what a reply means (Slack's and Discord's adapters)", () => {
    fc.assert(
      fc.property(fc.oneof(chatText, anyText), fc.constantFrom("<@U123>", "<@UBOT>", "<@U1> <@U2|bob>"), (text, m) => {
        expect(parseReply(replyText(`${m} ${text}`, "UBOT"), "Ada")).toEqual(
          parseReply(replyText(text, "UBOT"), "Ada"),
        );
      }),
      { numRuns: PROPERTY_RUNS.roundTrip },
    );
    fc.assert(
      fc.property(fc.oneof(chatText, anyText), fc.constantFrom("<@42>", "<@!42>", "<@&77> <@!42>"), (text, m) => {
        expect(parseReply(discordReplyText(`${m} ${text}`), "Ada")).toEqual(parseReply(discordReplyText(text), "Ada"));
      }),
      { numRuns: PROPERTY_RUNS.roundTrip },
    );
  });

  it("durations round trip in seconds, minutes, hours and combinations", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 48 }),
        fc.integer({ min: 0, max: 59 }),
        fc.integer({ min: 0, max: 59 }),
        fc.constantFrom("", " "),
        (h, m, s, gap) => {
          const parts = [h ? `${h}h` : "", m ? `${m}m` : "", s ? `${s}s` : ""].filter(Boolean);
          const total = h * 3600 + m * 60 + s;
          expect(parseDurationSec(parts.join(gap))).toBe(parts.length ? total : null);
        },
      ),
      { numRuns: PROPERTY_RUNS.roundTrip },
    );
  });
});

describe("chat parsers: long adversarial input", () => {
  /**
   * Inputs built to make backtracking regexes work hard, at 4 million characters (100 times Slack's 40,000-
   * character message limit): linear parsers get through each in well under a second; a quadratic pattern
   * would take minutes and hit the test's timeout.
   */
  const MB = 4_000_000;
  const inputs: Record<string, string> = {
    "a run of dots after a link": `start t http://a.test/x${".".repeat(MB)}`,
    "closing parentheses after a link": `start t http://a.test/x${")".repeat(MB)}`,
    "a run of dots in a reply": `${".".repeat(MB)}x`,
    "alternating punctuation": `a${".!".repeat(MB / 2)}x`,
    "unclosed Slack links": "<http://a|".repeat(MB / 10),
    "one unclosed Slack link": `<http://${"a".repeat(MB)}`,
    "mentions without end": "<@U1".repeat(MB / 4),
    "Slack mentions with a name and no end": "<@U1|".repeat(MB / 5),
    "mentions then a command": `${"<@U1> ".repeat(MB / 6)}stop`,
    dashes: `start t ${"--a".repeat(MB / 3)}`,
    "a long flag value": `start t --metric ${"a".repeat(MB)}`,
    "more and spaces": `more${" ".repeat(MB)}x`,
    "focus and spaces": `focus${" ".repeat(MB)}on`,
    "schemes only": `start ${"http://".repeat(MB / 7)}`,
    whitespace: `start ${" \t\n".repeat(MB / 3)}x`,
    "digits as a duration": `start t --timeout ${"9".repeat(MB)}`,
    "repeated duration units": `start t --timeout ${"1h".repeat(MB / 2)}`,
    "code fence": `\`\`\`${"`".repeat(MB)}`,
  };

  it.each(Object.entries(inputs))(
    "%s: every parser finishes with a typed answer",
    (_name, text) => {
      checkCommand(parseCommand(text));
      checkReply(parseReply(text, "Ada"));
      const s = parseSteer(text);
      if ("error" in s) expectUserFacing(s.error);
      const { links } = extractLinks(text);
      for (const l of links) expect(l).toMatch(/^https?:\/\//);
      // The Slack bot looks for its own mention in every message of a channel, and each adapter translates its text.
      expect(typeof mentions(text, "U1")).toBe("boolean");
      expect(typeof withoutMention(text, "U1")).toBe("string");
      checkCommand(parseCommand(slackText(text)));
      checkReply(parseReply(replyText(text, "U1"), "Ada"));
      checkReply(parseReply(discordReplyText(text), "Ada"));
    },
    30_000,
  );
});
