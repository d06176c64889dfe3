import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { logLevel, serviceSetup } from "../../../cli/commands/common.ts";
import { loadConfig } from "../../../src/config.ts";

function configFile(yaml: string): string {
  const file = join(mkdtempSync(join(tmpdir(), "aide-log-")), "aide.yaml");
  writeFileSync(file, yaml);
  return file;
}

afterEach(() => {
  vi.unstubAllEnvs();
});

describe("log.level", () => {
  it("is unset by default: each command keeps its own level", () => {
    vi.stubEnv("AIDE_CONFIG", "");
    vi.stubEnv("AIDE_LOG_LEVEL", "");
    expect(loadConfig().log.level).toBeNull();
    expect(serviceSetup("warn").logger.level).toBe("warn");
    expect(serviceSetup("info").logger.level).toBe("info");
    expect(logLevel(loadConfig(), "silent")).toBe("silent");
  });

  it("from the YAML file holds for every command, whatever its default", () => {
    vi.stubEnv("AIDE_CONFIG", configFile("log:\n  level: debug\n"));
    vi.stubEnv("AIDE_LOG_LEVEL", "");
    expect(serviceSetup("warn").logger.level).toBe("debug");
    expect(serviceSetup("info").logger.level).toBe("debug");
    // aide run's aide.log and aide models check read it the same way.
    expect(logLevel(loadConfig(), "info")).toBe("debug");
    expect(logLevel(loadConfig(), "silent")).toBe("debug");
  });

  it("from AIDE_LOG_LEVEL wins over the file", () => {
    vi.stubEnv("AIDE_CONFIG", configFile("log:\n  level: debug\n"));
    vi.stubEnv("AIDE_LOG_LEVEL", "error");
    expect(serviceSetup("warn").logger.level).toBe("error");
  });

  it("refuses a level pino does not know", () => {
    vi.stubEnv("AIDE_CONFIG", configFile("log:\n  level: loud\n"));
    expect(() => serviceSetup("warn")).toThrow(/Invalid configuration at log\.level/);
  });
});
