import http from "node:http";
import type { AddressInfo } from "node:net";
import { Client, GatewayIntentBits } from "discord.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loginAndWait } from "../../../bots/discord/client.ts";

describe("Discord start-up", () => {
  let server: http.Server;
  let api = "";
  beforeAll(async () => {
    // A REST endpoint that refuses every token, as Discord does for a wrong one.
    server = http.createServer((_req, res) => {
      res.writeHead(401, { "content-type": "application/json" });
      res.end(JSON.stringify({ message: "401: Unauthorized", code: 0 }));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    api = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api`;
  });
  afterAll(async () => new Promise<void>((r) => server.close(() => r())));

  const client = (url: string) => new Client({ intents: [GatewayIntentBits.Guilds], rest: { api: url, retries: 0 } });

  it("says in one line that Discord refused the token, without the token", async () => {
    const c = client(api);
    const err = await loginAndWait(c, "MTIz.secret.token", 5000, api).catch((e: unknown) => e);
    await c.destroy();
    expect((err as Error).message).toBe(
      "Discord refused DISCORD_TOKEN; use the bot token from the Developer Portal (Bot > Reset Token).",
    );
  });

  it("says in one line that the API cannot be reached", async () => {
    const c = client("http://127.0.0.1:9/api");
    const err = await loginAndWait(c, "MTIz.secret.token", 5000, "http://127.0.0.1:9/api").catch((e: unknown) => e);
    await c.destroy();
    expect((err as Error).message).toMatch(/^Cannot reach Discord at http:\/\/127\.0\.0\.1:9\/api: /);
    expect((err as Error).message).not.toContain("secret");
  });
});
