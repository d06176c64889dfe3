/**
 * downloadToFile and the address guard against a real local HTTP server (127.0.0.1) and real files. Most
 * tests allow the test server's address (allowedAddresses or allowPrivateHosts); the refusals are tested
 * on their own.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DataError } from "../../../src/errors.ts";
import { silentLogger } from "../../../src/logger.ts";
import { classifyAddress, checkHost, refusalReason } from "../../../src/workspace/address-guard.ts";
import {
  downloadToFile,
  filenameFromDisposition,
  sanitizeFilename,
  type DownloadOptions,
} from "../../../src/workspace/fetch.ts";
import { fetchDatasets } from "../../../src/workspace/datasets.ts";
import { startFileServer, type FileServer } from "../../fakes/file-server.ts";

let server: FileServer;
let dir: string;

const SECRET = "xoxb-secret-token-123456";

function opts(over: Partial<DownloadOptions> = {}): DownloadOptions {
  return {
    maxBytes: 1024 * 1024,
    timeoutMs: 5_000,
    maxRedirects: 3,
    allowPrivateHosts: false,
    allowedAddresses: ["127.0.0.1"],
    logger: silentLogger,
    ...over,
  };
}

async function failure(p: Promise<unknown>): Promise<DataError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(DataError);
    return err as DataError;
  }
  throw new Error("expected a DataError");
}

beforeAll(async () => {
  server = await startFileServer({
    "/data.csv": { kind: "file", body: "a,b\n1,2\n", contentType: "text/csv" },
    "/download": { kind: "file", body: "x,y\n", contentDisposition: `attachment; filename="../../etc/passwd"` },
    "/utf8": {
      kind: "file",
      body: "x\n",
      contentDisposition: `attachment; filename="fallback.csv"; filename*=UTF-8''donn%C3%A9es.csv`,
    },
    "/big-header": { kind: "file", body: Buffer.alloc(4096, 1) },
    "/endless": { kind: "endless", chunkSize: 16 * 1024 },
    "/hang": { kind: "hang" },
    "/slow": { kind: "slow", body: Buffer.alloc(1000, 0x61), chunkSize: 10, intervalMs: 100 },
    "/lying": { kind: "lying-length", declaredLength: 100_000, body: Buffer.alloc(1000, 0x62) },
    "/missing": { kind: "status", status: 404 },
    "/broken": { kind: "status", status: 500, body: "oops" },
    "/r1": { kind: "redirect", location: "/r2" },
    "/r2": { kind: "redirect", location: "/r3" },
    "/r3": { kind: "redirect", location: "/data.csv" },
    "/r4": { kind: "redirect", location: "/r1" },
    "/loop-a": { kind: "redirect", location: "/loop-b" },
    "/loop-b": { kind: "redirect", location: "/loop-a" },
    "/to-metadata": { kind: "redirect", location: "http://169.254.169.254/latest/meta-data/iam/" },
    "/to-private": { kind: "redirect", location: "http://10.0.0.5/data.zip" },
    "/to-file": { kind: "redirect", location: "file:///etc/passwd" },
    "/to-creds": { kind: "redirect", location: "http://user:pw@127.0.0.1/x" },
    "/secret-missing": { kind: "status", status: 403 },
  });
});

afterAll(async () => {
  await server.close();
});

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "aide-fetch-test-"));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("downloadToFile", () => {
  it("downloads a file and names it after the URL", async () => {
    const r = await downloadToFile(server.url("/data.csv"), dir, opts());
    expect(r.filename).toBe("data.csv");
    expect(r.bytes).toBe(8);
    expect(r.contentType).toBe("text/csv");
    expect(r.path).toBe(join(dir, "data.csv"));
    expect(await readFile(r.path, "utf8")).toBe("a,b\n1,2\n");
  });

  it("never overwrites: a second download of the same name gets a suffix", async () => {
    const a = await downloadToFile(server.url("/data.csv"), dir, opts());
    const b = await downloadToFile(server.url("/data.csv"), dir, opts());
    expect(a.filename).toBe("data.csv");
    expect(b.filename).toBe("data-2.csv");
  });

  it("takes the Content-Disposition name, sanitised", async () => {
    const r = await downloadToFile(server.url("/download"), dir, opts());
    expect(r.filename).toBe("passwd");
    expect(r.path).toBe(join(dir, "passwd"));
    const u = await downloadToFile(server.url("/utf8"), dir, opts());
    expect(u.filename).toBe("données.csv");
  });

  it("refuses other schemes and credentials in the URL", async () => {
    expect((await failure(downloadToFile("file:///etc/passwd", dir, opts()))).userMessage).toMatch(
      /refused: it is a file: link; only http and https/,
    );
    expect((await failure(downloadToFile("ftp://example.com/data.zip", dir, opts()))).userMessage).toMatch(
      /refused: it is a ftp: link/,
    );
    expect((await failure(downloadToFile("data:text/csv,a,b", dir, opts()))).userMessage).toMatch(/refused/);
    const creds = await failure(downloadToFile(`http://bob:hunter2@127.0.0.1:${server.port}/data.csv`, dir, opts()));
    expect(creds.userMessage).toMatch(/user name or password/);
    expect(creds.message).not.toContain("hunter2");
    expect((await failure(downloadToFile("not a url", dir, opts()))).userMessage).toMatch(/not a valid link/);
    expect(await readdir(dir)).toEqual([]);
  });

  it("refuses loopback by default and allows it with allowPrivateHosts", async () => {
    const refused = await failure(downloadToFile(server.url("/data.csv"), dir, opts({ allowedAddresses: [] })));
    expect(refused.userMessage).toBe(
      `Download of ${server.url("/data.csv")} refused: 127.0.0.1 is a loopback address (set AIDE_DATA_ALLOW_PRIVATE_HOSTS=1 to allow).`,
    );
    const before = server.requests.length;
    await failure(downloadToFile(server.url("/data.csv"), dir, opts({ allowedAddresses: [] })));
    expect(server.requests.length).toBe(before); // never connected
    const ok = await downloadToFile(
      server.url("/data.csv"),
      dir,
      opts({ allowedAddresses: [], allowPrivateHosts: true }),
    );
    expect(ok.bytes).toBe(8);
  });

  it("refuses a host name that resolves to loopback (localhost)", async () => {
    const err = await failure(
      downloadToFile(`http://localhost:${server.port}/data.csv`, dir, opts({ allowedAddresses: [] })),
    );
    expect(err.userMessage).toMatch(
      /refused: localhost resolves to (127\.0\.0\.1|::1), which is a loopback address \(set AIDE_DATA_ALLOW_PRIVATE_HOSTS=1 to allow\)/,
    );
  });

  it("refuses IPv6 and IPv4-mapped forms of loopback and metadata addresses", async () => {
    for (const u of [
      "http://[::1]/x",
      "http://[::ffff:127.0.0.1]/x",
      "http://[::ffff:a9fe:a9fe]/x",
      "http://0x7f.1/x",
      "http://2130706433/x",
    ]) {
      const err = await failure(downloadToFile(u, dir, opts({ allowedAddresses: [] })));
      expect(err.userMessage).toMatch(/refused: .* is (a loopback|a cloud metadata) address/);
    }
  });

  it("refuses a redirect to a private address or cloud metadata, even from an allowed host", async () => {
    const priv = await failure(downloadToFile(server.url("/to-private"), dir, opts()));
    expect(priv.userMessage).toBe(
      `Download of ${server.url("/to-private")} refused: 10.0.0.5 is a private address (set AIDE_DATA_ALLOW_PRIVATE_HOSTS=1 to allow).`,
    );
    const meta = await failure(downloadToFile(server.url("/to-metadata"), dir, opts({ allowPrivateHosts: true })));
    expect(meta.userMessage).toMatch(/refused: 169\.254\.169\.254 is a cloud metadata address \(always refused\)/);
    expect((await failure(downloadToFile(server.url("/to-file"), dir, opts()))).userMessage).toMatch(
      /refused: it redirects to a file: link/,
    );
    const creds = await failure(downloadToFile(server.url("/to-creds"), dir, opts()));
    expect(creds.userMessage).toMatch(/redirects to a link with a user name or password/);
    expect(creds.message).not.toContain("pw@");
  });

  it("follows redirects up to the limit", async () => {
    const r = await downloadToFile(server.url("/r1"), dir, opts({ maxRedirects: 3 }));
    expect(r.filename).toBe("data.csv");
    const tooMany = await failure(downloadToFile(server.url("/r4"), dir, opts({ maxRedirects: 3 })));
    expect(tooMany.userMessage).toMatch(/too many redirects \(more than 3\)/);
    const loop = await failure(downloadToFile(server.url("/loop-a"), dir, opts({ maxRedirects: 10 })));
    expect(loop.userMessage).toMatch(/too many redirects/);
  });

  it("refuses a body larger than the limit, by header and while streaming, leaving no partial file", async () => {
    const byHeader = await failure(downloadToFile(server.url("/big-header"), dir, opts({ maxBytes: 1000 })));
    expect(byHeader.userMessage).toMatch(/refused: the file \(4 KB\) is larger than the 1000 bytes limit/);
    const streamed = await failure(downloadToFile(server.url("/endless"), dir, opts({ maxBytes: 500 * 1024 })));
    expect(streamed.userMessage).toBe(
      `Download of ${server.url("/endless")} stopped: the file is larger than the 500 KB limit.`,
    );
    expect(await readdir(dir)).toEqual([]);
  });

  it("fails on a response shorter than its Content-Length", async () => {
    const err = await failure(downloadToFile(server.url("/lying"), dir, opts()));
    expect(err.userMessage).toMatch(/connection closed before the whole file arrived/);
    expect(await readdir(dir)).toEqual([]);
  });

  it("times out on a hanging server and on a slow body", async () => {
    const t0 = Date.now();
    const hang = await failure(downloadToFile(server.url("/hang"), dir, opts({ timeoutMs: 300 })));
    expect(hang.userMessage).toBe(`Download of ${server.url("/hang")} timed out after 0.3 s.`);
    expect(Date.now() - t0).toBeLessThan(3000);
    const slow = await failure(downloadToFile(server.url("/slow"), dir, opts({ timeoutMs: 400 })));
    expect(slow.userMessage).toMatch(/timed out after 0\.4 s/);
    expect(await readdir(dir)).toEqual([]);
  });

  it("honours an outside abort signal", async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    const err = await failure(downloadToFile(server.url("/hang"), dir, opts({ signal: ac.signal })));
    expect(err.userMessage).toMatch(/was cancelled/);
  });

  it("reports error statuses", async () => {
    expect((await failure(downloadToFile(server.url("/missing"), dir, opts()))).userMessage).toBe(
      `Download of ${server.url("/missing")} failed: the server answered 404 Not Found.`,
    );
    expect((await failure(downloadToFile(server.url("/broken"), dir, opts()))).userMessage).toMatch(
      /answered 500 Internal Server Error/,
    );
    expect(await readdir(dir)).toEqual([]);
  });

  it("reports a refused connection", async () => {
    const err = await failure(downloadToFile("http://127.0.0.1:1/data.csv", dir, opts()));
    expect(err.userMessage).toMatch(/failed: the connection was refused/);
  });

  it("sends the token header but never puts it (or the query string) in messages", async () => {
    const url = server.url("/secret-missing?sig=querysecret");
    const err = await failure(downloadToFile(url, dir, opts({ headers: { Authorization: `Bearer ${SECRET}` } })));
    const last = server.requests[server.requests.length - 1]!;
    expect(last.headers.authorization).toBe(`Bearer ${SECRET}`);
    expect(err.userMessage).toMatch(/answered 403 Forbidden/);
    for (const text of [err.message, err.userMessage, String(err.stack)]) {
      expect(text).not.toContain(SECRET);
      expect(text).not.toContain("querysecret");
    }
  });

  it("does not forward the token to another origin on redirect", async () => {
    const other = await startFileServer({ "/data.csv": { kind: "file", body: "a\n" } });
    try {
      server.route("/cross", { kind: "redirect", location: other.url("/data.csv") });
      server.route("/same", { kind: "redirect", location: "/data.csv" });
      await downloadToFile(server.url("/cross"), dir, opts({ headers: { Authorization: `Bearer ${SECRET}` } }));
      expect(other.requests[0]!.headers.authorization).toBeUndefined();
      await downloadToFile(server.url("/same"), dir, opts({ headers: { Authorization: `Bearer ${SECRET}` } }));
      expect(server.requests[server.requests.length - 1]!.headers.authorization).toBe(`Bearer ${SECRET}`);
    } finally {
      await other.close();
    }
  });

  it("connects to the checked address, not a second DNS answer (pinned lookup)", async () => {
    let calls = 0;
    const resolver = async () => {
      calls++;
      return [{ address: "127.0.0.1", family: 4 }];
    };
    // "data.invalid" cannot resolve through real DNS: the download works only if the checked address is used.
    const r = await downloadToFile(`http://data.invalid:${server.port}/data.csv`, dir, opts({ resolver }));
    expect(r.bytes).toBe(8);
    expect(calls).toBe(1);
    expect(server.requests[server.requests.length - 1]!.headers.host).toBe(`data.invalid:${server.port}`);
  });

  it("refuses a name that resolves to a public and a private address", async () => {
    const resolver = async () => [
      { address: "93.184.216.34", family: 4 },
      { address: "192.168.1.10", family: 4 },
    ];
    const err = await failure(
      downloadToFile("http://mixed.invalid/data.csv", dir, opts({ resolver, allowedAddresses: [] })),
    );
    expect(err.userMessage).toMatch(/mixed\.invalid resolves to 192\.168\.1\.10, which is a private address/);
  });

  it("reports an unknown host", async () => {
    const err = await failure(downloadToFile("http://no-such-host.invalid/data.csv", dir, opts()));
    expect(err.userMessage).toMatch(/failed: no-such-host\.invalid: the host name/);
  });
});

describe("address guard", () => {
  it("classifies addresses", () => {
    const cases: Array<[string, string | null]> = [
      ["10.1.2.3", "private"],
      ["172.16.0.1", "private"],
      ["172.31.255.255", "private"],
      ["172.32.0.1", null],
      ["192.168.0.1", "private"],
      ["127.0.0.53", "loopback"],
      ["169.254.1.1", "link-local"],
      ["169.254.169.254", "metadata"],
      ["100.64.0.1", "cgnat"],
      ["100.128.0.1", null],
      ["0.0.0.0", "unspecified"],
      ["224.0.0.1", "multicast"],
      ["255.255.255.255", "broadcast"],
      ["8.8.8.8", null],
      ["::", "unspecified"],
      ["::1", "loopback"],
      ["fc00::1", "private"],
      ["fd12:3456::1", "private"],
      ["fe80::1", "link-local"],
      ["fe80::1%eth0", "link-local"],
      ["ff02::1", "multicast"],
      ["::ffff:10.0.0.1", "private"],
      ["::ffff:7f00:1", "loopback"],
      ["::ffff:8.8.8.8", null],
      ["64:ff9b::a9fe:a9fe", "metadata"],
      ["2002:c0a8:0101::1", "private"],
      ["fd00:ec2::254", "metadata"],
      ["2606:4700:4700::1111", null],
      ["garbage", "reserved"],
    ];
    for (const [ip, category] of cases) expect(classifyAddress(ip)?.category ?? null, ip).toBe(category);
  });

  it("applies the policy", async () => {
    expect(refusalReason("10.0.0.5", { allowPrivateHosts: false })).toMatch(/private address/);
    expect(refusalReason("10.0.0.5", { allowPrivateHosts: true })).toBeNull();
    expect(refusalReason("169.254.169.254", { allowPrivateHosts: true })).toMatch(/always refused/);
    expect(refusalReason("::1", { allowPrivateHosts: false, allowedAddresses: ["::1"] })).toBeNull();
    const d = await checkHost("[::1]", { allowPrivateHosts: true });
    expect(d).toEqual({ ok: true, hostname: "::1", pinned: { address: "::1", family: 6 } });
  });

  it("helpers sanitise names", () => {
    expect(sanitizeFilename("../../etc/passwd")).toBe("passwd");
    expect(sanitizeFilename("..")).toBe("download");
    expect(sanitizeFilename("..\\..\\win.ini")).toBe("win.ini");
    expect(sanitizeFilename(".hidden.csv")).toBe("hidden.csv");
    expect(sanitizeFilename("a\u0000b\nc.csv")).toBe("a_b_c.csv");
    const long = sanitizeFilename(`${"x".repeat(500)}.tar.gz`);
    expect(long.length).toBe(120);
    expect(long.endsWith(".tar.gz")).toBe(true);
    expect(filenameFromDisposition(`attachment; filename="a \\"b\\".csv"`)).toBe(`a "b".csv`);
    expect(filenameFromDisposition("attachment; filename=plain.csv")).toBe("plain.csv");
    expect(filenameFromDisposition("inline")).toBeNull();
  });
});

describe("fetchDatasets", () => {
  it("downloads links and local files into input/, cleaning its temp area", async () => {
    const temp = join(dir, "tmp");
    const { mkdir, writeFile } = await import("node:fs/promises");
    await mkdir(temp);
    const local = join(dir, "attachment.bin");
    await writeFile(local, "id,target\n1,0\n");
    const input = join(dir, "input");
    const summary = await fetchDatasets([server.url("/data.csv"), server.url("/data.csv")], input, {
      download: { allowPrivateHosts: true, timeoutMs: 5000 },
      localFiles: [{ path: local, name: "test.csv" }],
      tempDir: temp,
      logger: silentLogger,
      headersFor: (u) => (u.hostname === "127.0.0.1" ? { Authorization: `Bearer ${SECRET}` } : undefined),
    });
    expect(summary.files).toEqual(["data.csv", "test.csv"]);
    expect(summary.totalBytes).toBe(8 + 14);
    expect((await readdir(input)).sort()).toEqual(["data.csv", "test.csv"]);
    expect(await readdir(temp)).toEqual([]);
    expect(await readFile(local, "utf8")).toBe("id,target\n1,0\n"); // local files are copied, not moved
  });

  it("refuses name collisions between data sets", async () => {
    const input = join(dir, "input");
    const { writeFile } = await import("node:fs/promises");
    const local = join(dir, "data.csv");
    await writeFile(local, "z\n1\n");
    const err = await failure(
      fetchDatasets([server.url("/data.csv")], input, {
        download: { allowPrivateHosts: true },
        localFiles: [local],
        tempDir: dir,
        logger: silentLogger,
      }),
    );
    expect(err.userMessage).toMatch(
      /data\.csv contains data\.csv, but the data directory already has something with that name/,
    );
    expect(await readFile(join(input, "data.csv"), "utf8")).toBe("a,b\n1,2\n");
  });

  it("needs at least one source", async () => {
    expect((await failure(fetchDatasets([], join(dir, "input"), { logger: silentLogger }))).userMessage).toMatch(
      /No data given/,
    );
  });
});
