import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.ts";
import { UsageError } from "../../src/errors.ts";

function configFile(yaml: string): string {
  const file = join(mkdtempSync(join(tmpdir(), "aide-config-")), "aide.yaml");
  writeFileSync(file, yaml);
  return file;
}

describe("loadConfig", () => {
  it("reads environment variables into their keys, as strings, booleans, numbers and lists", () => {
    const config = loadConfig({
      env: {
        OPENAI_BASE_URL: "http://localhost:11434/v1",
        AIDE_WARM: "no",
        AIDE_WEB: "off",
        AIDE_WEB_PORT: "4100",
        SLACK_ADMINS: " U1, U2 ,,",
        DISCORD_MESSAGE_CONTENT: "TRUE",
      },
    });
    expect(config.openai.baseUrl).toBe("http://localhost:11434/v1");
    expect(config.execution.warm).toBe(false);
    expect(config.web.enabled).toBe(false);
    expect(config.web.port).toBe(4100);
    expect(config.slack.admins).toEqual(["U1", "U2"]);
    expect(config.discord.messageContent).toBe(true);
  });

  it("layers defaults, the AIDE_CONFIG file, the environment and the overrides, in that order", () => {
    const file = configFile("web:\n  port: 4200\n  host: 0.0.0.0\nsearch:\n  steps: 7\n");
    const fromFile = loadConfig({ env: { AIDE_CONFIG: file } });
    expect(fromFile.web.port).toBe(4200);
    expect(fromFile.web.host).toBe("0.0.0.0");
    expect(fromFile.search.steps).toBe(7);
    expect(fromFile.web.enabled).toBe(loadConfig({ env: {} }).web.enabled);

    const fromEnv = loadConfig({ env: { AIDE_CONFIG: file, AIDE_WEB_PORT: "4300" } });
    expect(fromEnv.web.port).toBe(4300);
    expect(fromEnv.web.host).toBe("0.0.0.0");

    const fromFlags = loadConfig({
      env: { AIDE_CONFIG: file, AIDE_WEB_PORT: "4300" },
      overrides: { web: { port: 4400 } },
    });
    expect(fromFlags.web.port).toBe(4400);
    expect(fromFlags.web.host).toBe("0.0.0.0");
  });

  it("ignores empty environment variables", () => {
    expect(loadConfig({ env: { AIDE_WEB_PORT: "" } }).web.port).toBe(loadConfig({ env: {} }).web.port);
  });

  it("names the key of a bad value", () => {
    expect(() => loadConfig({ env: { AIDE_WEB_PORT: "many" } })).toThrow(/Invalid configuration at web\.port/);
  });

  it("refuses a config file that is missing, not YAML, or not a table of settings", () => {
    expect(() => loadConfig({ env: { AIDE_CONFIG: "/nonexistent/aide.yaml" } })).toThrow(/does not exist/);
    expect(() => loadConfig({ env: { AIDE_CONFIG: configFile("web: [unclosed\n") } })).toThrow(UsageError);
    expect(() => loadConfig({ env: { AIDE_CONFIG: configFile("- just\n- a list\n") } })).toThrow(
      /Cannot read the config file .*: it does not hold a table of settings/,
    );
  });
});
