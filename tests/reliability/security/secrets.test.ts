/**
 * Security: secrets never leave the places they belong. A whole service runs with distinctive fake secrets (Slack
 * bot token and signing secret, the OpenAI key, the Discord bot token, and a credential only the runner's process
 * environment holds): runs started from Slack and from Discord with the openai coder (the fake OpenAI server) in
 * the bubblewrap sandbox, thread replies, and `aide run` in a child process. The first script of every run is a
 * spy that dumps its environment, /proc/self/environ and /proc/1/environ, and searches every /proc/N/environ and
 * cmdline it can see for the secrets.
 *
 * Then EVERYTHING the runs produced is scanned for the secrets in several disguises (raw, base64 at every
 * alignment, hex, URL- and JSON-escaped): the shared log file (debug level), every Redis key (event streams,
 * BullMQ jobs, dedupe keys), every MongoDB document, every prompt and request body sent to the model endpoint,
 * every chat message, ephemeral, response_url answer and uploaded file on both fake platforms (request headers
 * to the platform itself, where the tokens belong, excepted), every file the runner wrote (scripts, outputs,
 * submissions), and the CLI run's output directory and stdout/stderr.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { RecordedRequest } from "../../fakes/openai-server.ts";
import { userText } from "../../fakes/openai-server.ts";
import { mongoContents, redisContents, SecretScanner } from "./scan.ts";
import { SECRETS, SLACK_USERS, until, useChatWorld } from "./world.ts";

const REPO = join(import.meta.dirname, "../../..");
const TASK = "Predict loan default. Metric: ROC AUC, higher is better. Submit id,default.";
const SPY_MARK = "AIDE-SPY-REPORT";

/** The first script of a run: looks for secrets wherever a sandboxed script could. */
function spyScript(hostLog: string): string {
  return `
import glob, os
print("${SPY_MARK} env")
for k, v in sorted(os.environ.items()):
    print(f"  {k}={v}")
def read(path, n=65536):
    try:
        with open(path, "rb") as f:
            return f.read(n).decode("latin1")
    except Exception as e:
        return f"<{type(e).__name__}>"
print("${SPY_MARK} self-environ", read("/proc/self/environ").replace("\\0", " "))
print("${SPY_MARK} pid1-environ", read("/proc/1/environ").replace("\\0", " "))
seen = glob.glob("/proc/[0-9]*/environ") + glob.glob("/proc/[0-9]*/cmdline")
hits = [p for p in seen if "AIDESECRET" in read(p)]
print("${SPY_MARK} proc", len(seen), "files seen, secrets in", hits)
print("${SPY_MARK} host-log", read(${JSON.stringify(hostLog)}, 200)[:80])
`;
}

/** A real model for the loan-default example (numeric columns, scaled logistic regression). */
function modelScript(c: number): string {
  return `
import json, os
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
train = pd.read_csv("./input/train.csv")
test = pd.read_csv("./input/test.csv")
target = [c for c in pd.read_csv("./input/sample_submission.csv").columns if c != "id"][0]
feats = [c for c in test.columns if c != "id" and pd.api.types.is_numeric_dtype(test[c])]
med = train[feats].median()
model = make_pipeline(StandardScaler(), LogisticRegression(C=${c}, max_iter=1000))
auc = cross_val_score(model, train[feats].fillna(med), train[target], cv=3, scoring="roc_auc").mean()
model.fit(train[feats].fillna(med), train[target])
os.makedirs("./working", exist_ok=True)
pd.DataFrame({"id": test["id"], target: model.predict_proba(test[feats].fillna(med))[:, 1]}).to_csv("./working/submission.csv", index=False)
print("AIDE_METRIC " + json.dumps({"name": "roc_auc", "value": float(auc), "lower_is_better": False}))
`;
}

let proposals = 0;
let hostLog = "";
/** The fake model: the spy first in every run (a draft whose prompt shows no earlier solution), then real models. */
function model(req: RecordedRequest) {
  const text = userText(req);
  // The start-up model check of `aide run` (src/coders/openai/model-check.ts) pings first: not a proposal.
  if (text.includes("Reply with the single word OK")) return "OK";
  if (req.body?.tools) {
    // A review that quotes the run's output back, as models do.
    const out = /```\n?([\s\S]{0,400})/.exec(text.split("Output")[1] ?? "")?.[1] ?? "";
    return {
      tool: "submit_review",
      args: {
        is_bug: false,
        summary: `The script ran. It printed: ${out.replace(/\s+/g, " ").slice(0, 300)}`,
        metric: null,
        lower_is_better: false,
      },
    };
  }
  proposals++;
  const code = proposals % 3 === 1 ? `${spyScript(hostLog)}\n${modelScript(1)}` : modelScript(0.1 * proposals);
  return `Plan ${proposals}: a scaled logistic regression on the numeric columns.\n\n\`\`\`python\n${code}\n\`\`\`\n`;
}

const world = useChatWorld({ runner: { executor: "sandbox", concurrency: 2 }, discord: true, openai: model });

function aideRun(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(REPO, "bin/aide.mjs"), ...args],
      { env, timeout: 240_000, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe("secrets stay where they belong", () => {
  it("runs from Slack, Discord and the terminal leave no secret in logs, events, documents, prompts, chat, files or the sandbox", async () => {
    hostLog = world.logFile;
    const slackChannel = "CSECRETS";
    const responseUrl = world.slack.responseUrl();
    const res = await world.sender.command({
      text: `start ${TASK} ${world.dataUrl} --steps 3`,
      user_id: SLACK_USERS.starter.id,
      user_name: SLACK_USERS.starter.name,
      channel_id: slackChannel,
      response_url: responseUrl,
    });
    expect(res.status).toBe(200);
    const slackRun = await world.runIn("slack", slackChannel);
    const ada = world.discord.user("Ada");
    const start = world.discord.slashCommand({ user: ada }, "start", { task: TASK, data: world.dataUrl, steps: 2 });
    await until(() => start.original, 20_000, "the Discord start reply");
    const discordRun = await world.runIn("discord", world.discord.channel.id);

    // Replies in the Slack thread while the run goes: guidance, status, tree, best.
    const card = await until(
      () => world.slack.messages.find((m) => m.channel === slackChannel && m.threadTs === null),
      10_000,
      "the card",
    );
    await until(
      async () => (await world.events(slackRun.id)).some((e) => e.type === "step.finished"),
      120_000,
      "the first step",
    );
    for (const text of ["try a smaller regularisation", "status", "tree", "best"]) {
      const ts = `${Math.floor(Date.now() / 1000)}.${String(Math.floor(Math.random() * 1e6)).padStart(6, "0")}`;
      await world.sender.event({
        type: "message",
        channel: slackChannel,
        user: SLACK_USERS.stranger.id,
        text,
        ts,
        thread_ts: card.ts,
        event_ts: ts,
        channel_type: "channel",
      });
    }

    // The terminal: aide run in a child process whose environment holds every secret.
    const out = mkdtempSync(join(tmpdir(), "aide-rel-cli-"));
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: world.dir,
      OPENAI_API_KEY: SECRETS.openaiApiKey,
      OPENAI_BASE_URL: world.openai.baseURL,
      SLACK_BOT_TOKEN: SECRETS.slackBotToken,
      SLACK_SIGNING_SECRET: SECRETS.slackSigningSecret,
      DISCORD_TOKEN: world.discord.token,
      AWS_SECRET_ACCESS_KEY: SECRETS.runnerEnv,
    };
    const cli = await aideRun(
      [
        "run",
        "--task",
        TASK,
        "--data",
        join(REPO, "examples/loan-default/input"),
        "--steps",
        "2",
        "--coder",
        "openai",
        "--code-model",
        "code-model",
        "--review-model",
        "review-model",
        "--executor",
        "sandbox",
        "--out",
        out,
        "--log-level",
        "debug",
      ],
      env,
    );
    expect(cli.code, cli.stderr).toBe(0);

    const [slackDone, discordDone] = await Promise.all([
      world.waitForEnd(slackRun.id, 200_000),
      world.waitForEnd(discordRun.id, 200_000),
    ]);
    expect(slackDone.status).toBe("finished");
    expect(discordDone.status).toBe("finished");
    // The final summaries reached both platforms (so their messages and files are part of the scan).
    await until(
      () => world.slack.thread(slackChannel, card.ts).some((m) => /finished/i.test(m.text)),
      30_000,
      "the Slack summary",
    );
    await until(
      () => [...world.discord.state.messages.values()].some((m) => m.author.bot && /finished/i.test(JSON.stringify(m))),
      30_000,
      "the Discord summary",
    );
    await world.slackBot.surface.flush();

    // The spy ran in every run and saw a clean environment.
    const nodes = [...(await world.store.loadJournal(slackRun.id)), ...(await world.store.loadJournal(discordRun.id))];
    const cliJournal = JSON.parse(readFileSync(join(out, "journal.json"), "utf8"));
    const spies = [...nodes, ...cliJournal.nodes].filter((n: { output: string }) =>
      n.output.includes(`${SPY_MARK} env`),
    );
    expect(spies.length).toBeGreaterThanOrEqual(3);
    for (const spy of spies) {
      const envDump = spy.output.split(`${SPY_MARK} env`)[1]!.split(`${SPY_MARK} self-environ`)[0]!;
      const names = [...envDump.matchAll(/^ {2}([A-Z_][A-Z0-9_]*)=/gm)].map((m) => m[1]);
      expect(names).toContain("PATH");
      expect(names.filter((n) => /TOKEN|SECRET|KEY|PASSWORD|SLACK|OPENAI|DISCORD|AWS|REDIS|MONGO/.test(n!))).toEqual(
        [],
      );
      expect(spy.output).toMatch(new RegExp(`${SPY_MARK} proc \\d+ files seen, secrets in \\[\\]`));
      expect(spy.output).toMatch(new RegExp(`${SPY_MARK} host-log <(FileNotFoundError|PermissionError)>`));
    }

    // The secrets were really in use, where they belong: the model endpoint got its key, Slack its token.
    expect(world.openai.chatRequests.some((r) => r.headers.authorization === `Bearer ${SECRETS.openaiApiKey}`)).toBe(
      true,
    );
    expect(world.slack.calls.some((c) => c.token === SECRETS.slackBotToken)).toBe(true);
    // ... and the data link's host, not Slack's, never got a token.
    expect(world.files.requests.every((r) => r.headers.authorization === undefined)).toBe(true);

    // Scan everything.
    const scanner = new SecretScanner([
      { name: "Slack bot token", value: SECRETS.slackBotToken },
      { name: "Slack signing secret", value: SECRETS.slackSigningSecret },
      { name: "OpenAI API key", value: SECRETS.openaiApiKey },
      { name: "runner-only credential", value: SECRETS.runnerEnv },
      { name: "Discord bot token", value: world.discord.token },
    ]);
    scanner.scan("log file (bots, runner, coder; debug level)", await world.logText());
    const redis = await redisContents(world.redis);
    scanner.scan("Redis (every key)", redis.text);
    const mongo = await mongoContents(world.store.connection);
    scanner.scan("MongoDB (every document)", mongo.text);
    for (const r of world.openai.requests) {
      const { authorization: _auth, ...headers } = r.headers;
      scanner.scanValue("model endpoint requests (prompts, bodies, other headers)", {
        path: r.path,
        headers,
        body: r.body,
      });
    }
    for (const c of world.slack.calls) {
      const { token: _t, ...args } = c.args;
      scanner.scanValue("Slack Web API calls (arguments)", { method: c.method, args });
    }
    scanner.scanValue("Slack messages, edits and ephemerals", {
      messages: world.slack.messages,
      ephemerals: world.slack.ephemerals,
      responses: world.slack.responses,
    });
    for (const f of world.slack.files)
      scanner.scan(
        "Slack uploaded files",
        Buffer.concat([
          Buffer.from(`${f.name}\n${f.title}\n${f.initialComment ?? ""}\n`),
          f.content ?? Buffer.alloc(0),
        ]),
      );
    for (const c of world.discord.calls) {
      scanner.scanValue("Discord REST calls (bodies)", {
        method: c.method,
        path: c.path,
        query: c.query,
        body: c.body ?? null,
      });
      for (const f of c.files)
        scanner.scan("Discord uploaded files", Buffer.concat([Buffer.from(`${f.name}\n`), f.data]));
    }
    scanner.scanValue("Discord messages and interactions", {
      messages: [...world.discord.state.messages.values()],
      interactions: [...world.discord.state.interactions.values()],
    });
    const runFiles = scanner.scanTree("runner files (scripts, outputs, working dirs, submissions)", world.dataDir);
    const cliFiles = scanner.scanTree("aide run --out (journal, config, log, nodes)", out);
    scanner.scan("aide run stdout and stderr", `${cli.stdout}\n${cli.stderr}`);

    const figures = [...scanner.bytes].map(([source, bytes]) => `${source}: ${bytes} bytes`).join("\n");
    console.info(
      `[figures] secret scan: ${scanner.encodings} patterns (5 secrets in their disguises), ${scanner.totalBytes()} bytes scanned; ` +
        `Redis ${redis.keys} keys, MongoDB ${mongo.collections} collections / ${mongo.documents} documents, ${runFiles} runner files, ${cliFiles} CLI output files, ` +
        `${world.openai.requests.length} model requests, ${world.slack.calls.length} Slack calls, ${world.discord.calls.length} Discord calls, ${spies.length} spy scripts\n${figures}`,
    );
    expect(scanner.findings).toEqual([]);
    expect(scanner.totalBytes()).toBeGreaterThan(100_000);
    // The scanner itself would have seen a leak: a secret buried in a base64 blob of a log line is found.
    const probe = new SecretScanner([{ name: "probe", value: SECRETS.openaiApiKey }]);
    probe.scan("probe", `{"msg":"x","blob":"${Buffer.from(`Bearer ${SECRETS.openaiApiKey}!`).toString("base64")}"}`);
    expect(probe.findings).toHaveLength(1);
  }, 420_000);
});
