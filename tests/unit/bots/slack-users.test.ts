import type { webApi } from "@slack/bolt";
import { describe, expect, it } from "vitest";
import { silentLogger } from "../../../src/logger.ts";
import { SlackUsers } from "../../../bots/slack/users.ts";

/** A Web API client whose users.info answers as the test says (only what SlackUsers calls). */
function clientWith(info: (args: { user: string }) => Promise<unknown>): { client: webApi.WebClient; calls: string[] } {
  const calls: string[] = [];
  const client = {
    users: {
      info: (args: { user: string }) => {
        calls.push(args.user);
        return info(args);
      },
    },
  } as unknown as webApi.WebClient;
  return { client, calls };
}

describe("SlackUsers", () => {
  it("resolves a display name through users.info and caches it", async () => {
    const { client, calls } = clientWith(async () => ({ user: { profile: { display_name: "Ada" } } }));
    const users = new SlackUsers(client, ["UADMIN"], silentLogger, 1000);
    expect(await users.resolve("U1", "ada")).toEqual({ userId: "U1", displayName: "Ada", isAdmin: false });
    expect(await users.resolve("U1")).toMatchObject({ displayName: "Ada" });
    expect((await users.resolve("UADMIN", "root")).isAdmin).toBe(true);
    expect(calls).toEqual(["U1", "UADMIN"]);
  });

  it("does not hold a request while Slack keeps failing: the payload's name after the wait, the real one later", async () => {
    let answer!: (v: unknown) => void;
    const { client, calls } = clientWith(() => new Promise((resolve) => (answer = resolve)));
    const users = new SlackUsers(client, [], silentLogger, 30);
    const [a, b] = await Promise.all([users.resolve("U2", "bob"), users.resolve("U2")]);
    expect(a.displayName).toBe("bob");
    expect(b.displayName).toBe("U2");
    expect(calls).toEqual(["U2"]);
    answer({ user: { real_name: "Bob Builder" } });
    await new Promise((r) => setTimeout(r, 0));
    expect((await users.resolve("U2")).displayName).toBe("Bob Builder");
    expect(calls).toEqual(["U2"]);
  });

  it("falls back to the payload's name or the id when users.info fails", async () => {
    const { client } = clientWith(async () => {
      throw new Error("ratelimited");
    });
    const users = new SlackUsers(client, [], silentLogger, 1000);
    expect((await users.resolve("U3", "carol")).displayName).toBe("carol");
    expect((await users.resolve("U3")).displayName).toBe("U3");
  });
});
