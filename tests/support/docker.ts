/**
 * Test support for the Docker executor: makes sure a real Docker daemon answers (scripts/start-docker.sh,
 * which installs and starts one when needed) and the sandbox image exists (runner/image/build-image.sh,
 * which builds it from Debian packages when missing: about 2.5 minutes cold, seconds when cached).
 * Call from a `beforeAll` with DOCKER_SETUP_TIMEOUT_MS as its timeout.
 */
import { execFile } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const START_DOCKER_SCRIPT = join(ROOT, "scripts", "start-docker.sh");
export const BUILD_IMAGE_SCRIPT = join(ROOT, "runner", "image", "build-image.sh");

/** Hook timeout for `ensureDockerSandbox`: a cold image build downloads and installs ~250 packages. */
export const DOCKER_SETUP_TIMEOUT_MS = 20 * 60_000;

export interface DockerSandboxReady {
  image: string;
  /** What the two scripts printed (one line each on success). */
  log: string;
}

function runScript(script: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      "bash",
      [script],
      { timeout: timeoutMs, encoding: "utf8", maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`${script} failed: ${err.message}\n${stdout}${stderr}`));
        else resolve(`${stdout}${stderr}`.trim());
      },
    );
  });
}

let ready: Promise<DockerSandboxReady> | null = null;

/**
 * Starts the daemon and builds the image if needed, once per test process. Rejects (failing the suite)
 * when either cannot be done: these tests are meant to run against the real thing.
 */
export function ensureDockerSandbox(): Promise<DockerSandboxReady> {
  ready ??= (async () => {
    const image = process.env.AIDE_SANDBOX_IMAGE || "aide-sandbox:latest";
    const started = await runScript(START_DOCKER_SCRIPT, 5 * 60_000);
    const built = await runScript(BUILD_IMAGE_SCRIPT, DOCKER_SETUP_TIMEOUT_MS - 60_000);
    return { image, log: `${started}\n${built}` };
  })();
  ready.catch(() => {
    ready = null;
  });
  return ready;
}
