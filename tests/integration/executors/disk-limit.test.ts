/**
 * The working directory's size and file-count limit (DiskLimitedExecutor) around the real executors: a script
 * that keeps writing to ./working, or keeps creating files, is stopped with a reason and its files removed; a
 * script within the limits, or with a large sparse file, runs as before; the next script still runs.
 */
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../../src/logger.ts";
import { dirUsage } from "../../../runner/executors/disk-limit.ts";
import { selectExecutor } from "../../../runner/executors/select.ts";
import type { Executor } from "../../../src/search/types.ts";
import { DOCKER_SETUP_TIMEOUT_MS, ensureDockerSandbox } from "../../support/docker.ts";
import { makeScratch, type Scratch } from "./helpers.ts";

const LIMITS = { maxMb: 40, maxFiles: 300, checkMs: 100 };

const FILL_DISK = `
import os, time
with open("./working/junk.bin", "wb") as f:
    for i in range(2000):          # 2,000 MB if nothing stops it
        f.write(os.urandom(1 << 20))
        f.flush()
print("WROTE ALL")
`;
const MANY_FILES = `
import os
os.makedirs("./working/many", exist_ok=True)
for i in range(100000):
    open(f"./working/many/{i}.txt", "w").close()
print("MADE ALL")
`;
const WITHIN = `
import os
with open("./working/ok.bin", "wb") as f:
    f.write(os.urandom(5 << 20))
with open("./working/sparse.bin", "wb") as f:   # 1 GB apparent size, no blocks
    f.seek(1 << 30)
    f.write(b"x")
for i in range(50):
    open(f"./working/f{i}.txt", "w").write("x")
print("AIDE_METRIC 0.5")
`;

function behaves(name: string, make: () => Promise<Executor>) {
  describe(name, () => {
    let scratch: Scratch;
    let executor: Executor;
    beforeAll(async () => {
      scratch = makeScratch(`aide-disk-${name.split(" ")[0]}`);
      executor = await make();
    }, DOCKER_SETUP_TIMEOUT_MS);
    afterAll(() => scratch?.cleanup());

    it("stops a script that fills ./working, removes its files and says why", async () => {
      const job = scratch.job("fill", FILL_DISK);
      const r = await executor.run(job);
      expect(r.limitExceeded).toMatch(/wrote more than 40 MB to \.\/working/);
      expect(r.output).not.toContain("WROTE ALL");
      expect(r.output).toContain("[aide] the script wrote more than 40 MB");
      expect(existsSync(join(job.nodeDir, "working", "junk.bin"))).toBe(false);
    }, 60_000);

    it("stops a script that creates too many files", async () => {
      const job = scratch.job("many", MANY_FILES);
      const r = await executor.run(job);
      expect(r.limitExceeded).toMatch(/created more than 300 files/);
      expect(r.output).not.toContain("MADE ALL");
      expect((await dirUsage(join(job.nodeDir, "working"))).entries).toBe(0);
    }, 60_000);

    it("lets a script within the limits run as before, sparse files counted by what they use", async () => {
      const job = scratch.job("within", WITHIN);
      const r = await executor.run(job);
      expect(r.exitCode, r.output).toBe(0);
      expect(r.limitExceeded).toBeUndefined();
      expect(r.output).toContain("AIDE_METRIC 0.5");
      expect(readdirSync(join(job.nodeDir, "working"))).toContain("ok.bin");
    }, 60_000);
  });
}

behaves("sandbox (bubblewrap)", () => selectExecutor("sandbox", { logger: silentLogger, disk: LIMITS }));
behaves("docker", async () => {
  const { image } = await ensureDockerSandbox();
  return selectExecutor("docker", { dockerImage: image, cpus: 1, logger: silentLogger, disk: LIMITS, warm: true });
});
