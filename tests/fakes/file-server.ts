/**
 * A real HTTP server on 127.0.0.1 (random port) serving configured routes, for download tests: files
 * (with or without Content-Length / Content-Disposition), redirects (relative or absolute, loops, to
 * private addresses), error statuses, responses that hang, trickle, lie about their length or never end.
 * Every request is recorded (method, path with query, headers).
 */
import http from "node:http";
import type { AddressInfo, Socket } from "node:net";

export type Route =
  /** A file. `chunked: true` omits Content-Length. */
  | {
      kind: "file";
      body: Buffer | string;
      contentType?: string;
      contentDisposition?: string;
      headers?: Record<string, string>;
      chunked?: boolean;
    }
  /** A redirect to `location` (relative to the server, or absolute). */
  | { kind: "redirect"; location: string; status?: 301 | 302 | 303 | 307 | 308 }
  /** An error (or any) status with an optional body. */
  | { kind: "status"; status: number; body?: string; headers?: Record<string, string> }
  /** Accepts the request and never answers. */
  | { kind: "hang" }
  /** Sends headers, then `body` in `chunkSize` pieces every `intervalMs`. */
  | { kind: "slow"; body: Buffer | string; chunkSize: number; intervalMs: number }
  /** Declares `declaredLength` bytes in Content-Length, sends `body`, then closes the connection. */
  | { kind: "lying-length"; declaredLength: number; body: Buffer | string }
  /** An endless chunked body of `chunkSize`-byte chunks (no Content-Length). */
  | { kind: "endless"; chunkSize?: number };

export interface RecordedFileRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
}

export interface FileServer {
  /** Base URL, e.g. http://127.0.0.1:43123 */
  readonly origin: string;
  readonly port: number;
  readonly requests: RecordedFileRequest[];
  /** Absolute URL of a path on this server. */
  url(path: string): string;
  /** Adds or replaces a route (exact path match, query string ignored). */
  route(path: string, route: Route): void;
  close(): Promise<void>;
}

export async function startFileServer(routes: Record<string, Route> = {}): Promise<FileServer> {
  const table = new Map<string, Route>(Object.entries(routes));
  const requests: RecordedFileRequest[] = [];
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();

  const server = http.createServer((req, res) => {
    const fullPath = req.url ?? "/";
    requests.push({ method: req.method ?? "GET", path: fullPath, headers: req.headers });
    const path = fullPath.split("?")[0]!;
    const route = table.get(path);
    if (!route) {
      res.writeHead(404, { "content-type": "text/plain" });
      res.end("not found");
      return;
    }
    switch (route.kind) {
      case "file": {
        const body = Buffer.isBuffer(route.body) ? route.body : Buffer.from(route.body);
        const headers: Record<string, string | number> = {
          "content-type": route.contentType ?? "application/octet-stream",
          ...(route.headers ?? {}),
        };
        if (route.contentDisposition) headers["content-disposition"] = route.contentDisposition;
        if (!route.chunked) headers["content-length"] = body.length;
        res.writeHead(200, headers);
        res.end(body);
        return;
      }
      case "redirect":
        res.writeHead(route.status ?? 302, { location: route.location, "content-length": 0 });
        res.end();
        return;
      case "status":
        res.writeHead(route.status, { "content-type": "text/plain", ...(route.headers ?? {}) });
        res.end(route.body ?? "");
        return;
      case "hang":
        return;
      case "slow": {
        const body = Buffer.isBuffer(route.body) ? route.body : Buffer.from(route.body);
        res.writeHead(200, { "content-type": "application/octet-stream", "content-length": body.length });
        let offset = 0;
        const tick = () => {
          if (res.destroyed) return;
          res.write(body.subarray(offset, offset + route.chunkSize));
          offset += route.chunkSize;
          if (offset >= body.length) {
            res.end();
            return;
          }
          const t = setTimeout(() => {
            timers.delete(t);
            tick();
          }, route.intervalMs);
          timers.add(t);
        };
        tick();
        return;
      }
      case "lying-length": {
        const body = Buffer.isBuffer(route.body) ? route.body : Buffer.from(route.body);
        res.writeHead(200, { "content-type": "application/octet-stream", "content-length": route.declaredLength });
        res.write(body, () => res.socket?.destroy());
        return;
      }
      case "endless": {
        const chunk = Buffer.alloc(route.chunkSize ?? 64 * 1024, 0x61);
        res.writeHead(200, { "content-type": "application/octet-stream" });
        const pump = () => {
          while (!res.destroyed && res.write(chunk)) {
            /* keep writing until backpressure */
          }
          if (!res.destroyed) res.once("drain", pump);
        };
        pump();
        return;
      }
    }
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  const origin = `http://127.0.0.1:${port}`;

  return {
    origin,
    port,
    requests,
    url: (path) => `${origin}${path.startsWith("/") ? path : `/${path}`}`,
    route: (path, route) => void table.set(path, route),
    close: async () => {
      for (const t of timers) clearTimeout(t);
      for (const s of sockets) s.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
