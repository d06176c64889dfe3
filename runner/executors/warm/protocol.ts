/**
 * Frames between the executor and the warm fork server (server.py): type (u8), job (u32, big-endian),
 * payload length (u32, big-endian), payload. Control payloads are JSON; OUTPUT payloads are the script's raw
 * bytes.
 */
import { readFileSync } from "node:fs";

export const FrameType = {
  RUN: 1,
  SIGNAL: 2,
  QUIT: 3,
  READY: 10,
  STARTED: 11,
  OUTPUT: 12,
  EXIT: 13,
  LOG: 14,
  POLLUTED: 15,
} as const;

export interface Frame {
  type: number;
  job: number;
  payload: Buffer;
}

const HEADER = 9;

export function encodeFrame(type: number, job: number, payload: Buffer | object): Buffer {
  const body = Buffer.isBuffer(payload) ? payload : Buffer.from(JSON.stringify(payload));
  const header = Buffer.alloc(HEADER);
  header.writeUInt8(type, 0);
  header.writeUInt32BE(job >>> 0, 1);
  header.writeUInt32BE(body.length, 5);
  return Buffer.concat([header, body]);
}

/** Accumulates bytes from the socket and hands out whole frames. */
export class FrameReader {
  private pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Frame[] {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const frames: Frame[] = [];
    while (this.pending.length >= HEADER) {
      const size = this.pending.readUInt32BE(5);
      if (this.pending.length < HEADER + size) break;
      frames.push({
        type: this.pending.readUInt8(0),
        job: this.pending.readUInt32BE(1),
        payload: this.pending.subarray(HEADER, HEADER + size),
      });
      this.pending = this.pending.subarray(HEADER + size);
    }
    return frames;
  }
}

/** The server's source, passed to `python3 -c` so that neither the sandbox nor the image needs the file. */
export const SERVER_SOURCE = readFileSync(new URL("./server.py", import.meta.url), "utf8");

/** Imported once per warm interpreter. numpy, pandas and scikit-learn are required; the rest are used if present. */
export const REQUIRED_MODULES = ["numpy", "pandas", "sklearn"];
export const PRELOAD_MODULES = [
  ...REQUIRED_MODULES,
  "scipy",
  "sklearn.base",
  "sklearn.compose",
  "sklearn.ensemble",
  "sklearn.impute",
  "sklearn.linear_model",
  "sklearn.metrics",
  "sklearn.model_selection",
  "sklearn.neighbors",
  "sklearn.pipeline",
  "sklearn.preprocessing",
  "sklearn.svm",
  "sklearn.tree",
  "sklearn.utils",
];

/** What the server needs to know at start-up (argv[2] of the server). */
export interface ServerOptions {
  preload: string[];
  required: string[];
  /** Directories private to the sandbox that scripts may write; emptied after each script. */
  scratch: string[];
  /** A directory under /tmp the server recreates after emptying /tmp (the scripts' HOME). */
  home?: string;
}

/** One script, as the server's child receives it. */
export interface RunSpec {
  script: string;
  cwd: string;
  env: Record<string, string>;
  /** RLIMIT_<name> values (soft = hard) set in the child before the script runs. */
  rlimits: Record<string, number>;
}

export interface ExitReport {
  code: number | null;
  signal: number | null;
  /** The server sent the script SIGKILL (on the executor's request). */
  killedByServer: boolean;
}
