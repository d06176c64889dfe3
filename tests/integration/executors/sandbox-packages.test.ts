/**
 * The package probe through real executors: bubblewrap (cold and warm, the warm one through its forked
 * interpreter), the unsafe local one, and Docker (cold and warm). What it reports must be what a script in
 * that executor really can import, at the version the package itself reports.
 */
import { execFileSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Logger } from "../../../src/logger.ts";
import { describeSandbox, probeSandbox, type SandboxProbe } from "../../../src/runs/sandbox-packages.ts";
import type { Executor } from "../../../src/search/types.ts";
import { DockerExecutor } from "../../../runner/executors/docker.ts";
import { LocalExecutor } from "../../../runner/executors/local.ts";
import { SandboxExecutor } from "../../../runner/executors/sandbox.ts";
import { DOCKER_SETUP_TIMEOUT_MS, ensureDockerSandbox } from "../../support/docker.ts";
import { capturingLogger, makeScratch, type Scratch } from "./helpers.ts";

/** Imports each module in the executor itself and prints what it finds: the truth the probe must match. */
const IMPORTS = `import importlib, json, platform
found = {}
for module in ["numpy", "pandas", "sklearn", "scipy", "xgboost", "torch", "lightgbm"]:
    try:
        found[module] = getattr(importlib.import_module(module), "__version__", "?")
    except Exception:
        found[module] = None
print("IMPORTS=" + json.dumps({"python": platform.python_version(), "found": found}))
`;

const NAMES: Record<string, string> = {
  numpy: "numpy",
  pandas: "pandas",
  sklearn: "scikit-learn",
  scipy: "scipy",
  xgboost: "xgboost",
  torch: "torch",
  lightgbm: "lightgbm",
};

interface Kind {
  name: string;
  setup?(): Promise<void>;
  make(logger: Logger): Executor & { close?(): Promise<void> };
  /** Warm kinds: the probe must run on a forked interpreter. */
  warm?: boolean;
}

const kinds: Kind[] = [
  {
    name: "sandbox",
    setup: async () => {
      const check = await SandboxExecutor.check();
      if (!check.ok) throw new Error(`the bubblewrap sandbox cannot run here: ${check.reason}`);
    },
    make: (logger) => new SandboxExecutor({ logger }),
  },
  {
    name: "sandbox (warm)",
    setup: async () => {
      const check = await SandboxExecutor.check();
      if (!check.ok) throw new Error(`the bubblewrap sandbox cannot run here: ${check.reason}`);
    },
    make: (logger) => new SandboxExecutor({ logger, warm: true }),
    warm: true,
  },
  { name: "local", make: (logger) => new LocalExecutor({ logger }) },
  {
    name: "docker",
    setup: async () => void (await ensureDockerSandbox()),
    make: (logger) => new DockerExecutor({ logger }),
  },
  {
    name: "docker (warm)",
    setup: async () => void (await ensureDockerSandbox()),
    make: (logger) => new DockerExecutor({ logger, warm: true }),
    warm: true,
  },
];

describe.each(kinds)("the package probe through the $name executor", (kind) => {
  let scratch: Scratch;
  let executor: Executor & { close?(): Promise<void> };
  let log: ReturnType<typeof capturingLogger>;
  let probe: SandboxProbe;
  let truth: { python: string; found: Record<string, string | null> };

  beforeAll(async () => {
    await kind.setup?.();
    scratch = makeScratch("aide-probe-test");
    log = capturingLogger();
    executor = kind.make(log.logger);
    const scope = { inputDir: scratch.inputDir, runDir: scratch.root, memoryMb: 1024 };
    if (kind.warm) await executor.prepareRun!(scope);
    probe = await probeSandbox(executor, { inputDir: scratch.inputDir, workDir: scratch.root, memoryMb: 1024 });
    const imports = await executor.run(scratch.job("imports", IMPORTS, { timeoutMs: 120_000 }));
    const line = imports.output.split("\n").find((l) => l.startsWith("IMPORTS="));
    if (!line) throw new Error(`no IMPORTS= line in:\n${imports.output}`);
    truth = JSON.parse(line.slice("IMPORTS=".length)) as typeof truth;
  }, DOCKER_SETUP_TIMEOUT_MS);

  afterAll(async () => {
    await executor?.close?.();
    scratch?.cleanup();
  });

  const version = (name: string) => probe.packages.find((p) => p.name === name)?.version;

  it("finds numpy, pandas and scikit-learn at the versions the packages report, and the interpreter's version", () => {
    expect(probe.python).toBe(truth.python);
    expect(probe.python).toMatch(/^3\.\d+\.\d+/);
    for (const module of ["numpy", "pandas", "sklearn"]) {
      expect(truth.found[module], module).toBeTruthy();
      expect(version(NAMES[module]!), module).toBe(truth.found[module]);
    }
    expect(describeSandbox(probe)[0]).toBe(`Python ${truth.python}`);
    expect(describeSandbox(probe)).toContain(`scikit-learn ${truth.found.sklearn}`);
  });

  it("reports xgboost, torch and lightgbm only when a script can really import them", () => {
    for (const module of ["xgboost", "torch", "lightgbm", "scipy"]) {
      const reported = probe.packages.some((p) => p.name === NAMES[module]);
      expect(reported, `${module}: imports as ${truth.found[module]}`).toBe(truth.found[module] !== null);
    }
  });

  if (kind.name === "sandbox" || kind.name === "local") {
    it("matches the host's /usr/bin/python3 (the interpreter these executors use)", () => {
      const host = execFileSync(
        "/usr/bin/python3",
        [
          "-c",
          "import sklearn, numpy, pandas, platform; print(platform.python_version(), sklearn.__version__, numpy.__version__, pandas.__version__)",
        ],
        {
          encoding: "utf8",
        },
      ).trim();
      expect(`${probe.python} ${version("scikit-learn")} ${version("numpy")} ${version("pandas")}`).toBe(host);
    });
  }

  if (kind.warm) {
    it("ran on the warm interpreter (forked, with scikit-learn already imported)", () => {
      const warmRuns = log.lines.filter((l) => l.msg === "warm run finished" && l.nodeId === -1);
      expect(warmRuns).toHaveLength(1);
      expect(warmRuns[0]!.exitCode).toBe(0);
    });
  }
});
