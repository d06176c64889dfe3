/**
 * The tree pages' HTTP server (node:http, no framework): each run's page at /runs/<id>?token=..., its data as
 * JSON, its chart as PNG, and its live updates as server-sent events. Every /runs route checks the run's
 * token; the only routes without one are the page's own script and stylesheet (no data) and /healthz.
 *
 * Live updates are pushed: each open page follows the run's Redis event stream (XREAD BLOCK on its own
 * connection) and gets the re-laid-out tree after the events it caused, a few coalesced per push.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Redis } from "ioredis";
import type { Logger } from "../logger.ts";
import { followEvents, readEvents, type StoredRunEvent } from "../queue/events.ts";
import { metricChartPng } from "../charts/metric-chart.ts";
import type { Store } from "../store/store.ts";
import { pageAssets } from "./assets.ts";
import { livePageHtml } from "./page.ts";
import { bestNodeId, buildTreeView, nodeDetail, type TreeView } from "./tree-model.ts";

export interface TreeServerOptions {
  store: Store;
  /** For live updates; without it the page shows a snapshot that refreshes only on reload. */
  redis: Redis | null;
  logger: Logger;
  host: string;
  /** 0: any free port. */
  port: number;
  /** Open event streams at once; more are answered 503 (default 200). Each holds one Redis connection. */
  maxStreams?: number;
  /** Pause between an event and the push it causes, collecting the events that follow (default 150 ms). */
  coalesceMs?: number;
  /** Comment lines that keep idle streams open through proxies (default 15 s). */
  keepAliveMs?: number;
}

const RUN_ROUTE = /^\/runs\/([A-Za-z0-9_-]{1,64})(?:\/(tree\.json|chart\.png|stream|nodes\/(\d{1,9})))?$/;

const SECURITY_HEADERS: Record<string, string> = {
  "Content-Security-Policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "Referrer-Policy": "no-referrer",
  "X-Content-Type-Options": "nosniff",
  "X-Frame-Options": "DENY",
};

const REFUSED_HTML = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Link not valid</title></head>
<body><h1>This link is not valid</h1><p>The run's token is missing or wrong. Use the link posted in the run's thread.</p></body></html>
`;

const ENDED = new Set<StoredRunEvent["type"]>(["run.finished", "run.failed"]);

function digest(s: string): Buffer {
  return createHash("sha256").update(s, "utf8").digest();
}

/** Compares tokens in constant time (both hashed first, so lengths do not leak either). */
export function tokenMatches(expected: string, given: string | null): boolean {
  if (!given || !expected) return false;
  return timingSafeEqual(digest(expected), digest(given));
}

export class TreeServer {
  private server: Server | null = null;
  private readonly log: Logger;
  private streams = 0;
  private readonly closing = new Set<AbortController>();

  constructor(private readonly opts: TreeServerOptions) {
    this.log = opts.logger.child({ component: "tree-server" });
  }

  get openStreams(): number {
    return this.streams;
  }

  /** Listens; resolves with the port. */
  async start(): Promise<number> {
    const server = createServer((req, res) => {
      this.route(req, res).catch((err: unknown) => {
        this.log.error({ err, path: redactedPath(req.url) }, "tree page request failed");
        if (!res.headersSent) this.send(res, 500, "text/plain; charset=utf-8", "Internal error (logged).\n");
        else res.end();
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.opts.port, this.opts.host, () => {
        server.off("error", reject);
        resolve();
      });
    });
    this.server = server;
    const port = (server.address() as AddressInfo).port;
    this.log.info({ host: this.opts.host, port }, "tree pages served");
    return port;
  }

  async stop(): Promise<void> {
    for (const c of this.closing) c.abort();
    const s = this.server;
    this.server = null;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  private send(
    res: ServerResponse,
    status: number,
    type: string,
    body: string | Buffer,
    extra: Record<string, string> = {},
  ): void {
    res.writeHead(status, { ...SECURITY_HEADERS, "Content-Type": type, "Cache-Control": "no-store", ...extra });
    res.end(body);
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== "GET" && req.method !== "HEAD") {
      this.send(res, 405, "text/plain; charset=utf-8", "Only GET is served here.\n", { Allow: "GET, HEAD" });
      return;
    }
    const url = new URL(req.url ?? "/", "http://localhost");
    const path = url.pathname;
    if (path === "/healthz") return this.send(res, 200, "text/plain; charset=utf-8", "ok\n");
    if (path === "/assets/tree.js")
      return this.send(res, 200, "text/javascript; charset=utf-8", pageAssets().script, {
        "Cache-Control": "public, max-age=300",
      });
    if (path === "/assets/tree.css")
      return this.send(res, 200, "text/css; charset=utf-8", pageAssets().style, {
        "Cache-Control": "public, max-age=300",
      });
    const m = RUN_ROUTE.exec(path);
    if (!m) return this.send(res, 404, "text/plain; charset=utf-8", "Not found.\n");
    const runId = m[1]!;
    const token = url.searchParams.get("token");
    const expected = await this.opts.store.viewTokenIfSet(runId);
    if (!expected || !tokenMatches(expected, token)) {
      this.log.info({ runId, path: m[2] ?? "page" }, "tree page refused: token missing or wrong");
      return this.send(res, 403, "text/html; charset=utf-8", REFUSED_HTML);
    }
    const what = m[2];
    if (!what) return this.send(res, 200, "text/html; charset=utf-8", livePageHtml(runId, token!));
    if (what === "tree.json") {
      const view = await this.view(runId);
      return view
        ? this.send(res, 200, "application/json", JSON.stringify(view))
        : this.send(res, 404, "text/plain; charset=utf-8", "No such run.\n");
    }
    if (what === "chart.png") {
      const journal = await this.opts.store.loadJournal(runId);
      return this.send(res, 200, "image/png", await metricChartPng(journal, { title: `run ${runId}` }));
    }
    if (what === "stream") return this.stream(req, res, runId);
    const nodeId = Number(m[3]);
    const [node, run] = await Promise.all([this.opts.store.getNode(runId, nodeId), this.opts.store.getRun(runId)]);
    if (!node || !run)
      return this.send(res, 404, "application/json", JSON.stringify({ error: `Run ${runId} has no node ${nodeId}.` }));
    const journal = run.progress.bestNodeId === null ? await this.opts.store.loadJournal(runId) : [];
    return this.send(
      res,
      200,
      "application/json",
      JSON.stringify(nodeDetail(node, run.progress.bestNodeId ?? bestNodeId(run, journal))),
    );
  }

  private async view(runId: string): Promise<TreeView | null> {
    const [run, journal] = await Promise.all([this.opts.store.getRun(runId), this.opts.store.loadJournal(runId)]);
    return run ? buildTreeView(run, journal) : null;
  }

  /** Server-sent events: the tree now, then again after each burst of the run's events; `end` when it ends. */
  private async stream(req: IncomingMessage, res: ServerResponse, runId: string): Promise<void> {
    const max = this.opts.maxStreams ?? 200;
    if (this.streams >= max) {
      this.send(res, 503, "text/plain; charset=utf-8", "Too many open pages; try again shortly.\n", {
        "Retry-After": "10",
      });
      return;
    }
    const redis = this.opts.redis;
    // The stream position first, then the snapshot: no event between the two can be missed.
    const fromId = redis ? ((await readEvents(redis, runId, undefined, 1)).at(-1)?.entryId ?? "0-0") : null;
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      "Content-Type": "text/event-stream; charset=utf-8",
      "Cache-Control": "no-store",
      Connection: "keep-alive",
      "X-Accel-Buffering": "no",
    });
    const write = (event: string, data: string) => {
      if (!res.writableEnded) res.write(`event: ${event}\ndata: ${data}\n\n`);
    };
    const first = await this.view(runId);
    if (!first) return void res.end();
    write("tree", JSON.stringify(first));
    if (first.run.finished || !redis || fromId === null) {
      if (first.run.finished) write("end", "{}");
      res.end();
      return;
    }

    const abort = new AbortController();
    this.closing.add(abort);
    this.streams++;
    req.on("close", () => abort.abort());
    const keepAlive = setInterval(() => {
      if (!res.writableEnded) res.write(": keep-alive\n\n");
    }, this.opts.keepAliveMs ?? 15_000);
    let timer: NodeJS.Timeout | null = null;
    let pushing: Promise<void> = Promise.resolve();
    const push = () => {
      timer = null;
      pushing = pushing
        .then(async () => {
          const v = await this.view(runId);
          if (v) write("tree", JSON.stringify(v));
        })
        .catch((err: unknown) => this.log.warn({ err, runId }, "tree stream: could not load the tree"));
    };
    try {
      await followEvents(
        redis,
        runId,
        (entry) => {
          if (entry.event.type === "step.started" || entry.event.type === "steer.applied") return;
          timer ??= setTimeout(push, this.opts.coalesceMs ?? 150);
        },
        abort.signal,
        { fromId, until: (e) => ENDED.has(e.type) },
      );
      if (!abort.signal.aborted) {
        if (timer) clearTimeout(timer);
        push();
        await pushing;
        write("end", "{}");
      }
    } catch (err) {
      if (!abort.signal.aborted) this.log.warn({ err, runId }, "tree stream: following the run's events failed");
    } finally {
      if (timer) clearTimeout(timer);
      clearInterval(keepAlive);
      this.streams--;
      this.closing.delete(abort);
      res.end();
    }
  }
}

/** The request path without its query (which holds the token), for logs. */
function redactedPath(url: string | undefined): string {
  return (url ?? "").split("?")[0] ?? "";
}
