import pino from "pino";

/**
 * The logger type passed into every component (never imported as a global). pino's Logger satisfies it;
 * tests may pass `silentLogger`.
 */
export type Logger = pino.Logger;

export function createLogger(options: { level?: string; destination?: string } = {}): Logger {
  const level = options.level ?? "info";
  const dest = options.destination
    ? pino.destination({ dest: options.destination, mkdir: true, sync: false })
    : pino.destination(2);
  return pino(
    {
      level,
      redact: { paths: ["apiKey", "*.apiKey", "token", "*.token", "headers.authorization"], censor: "[redacted]" },
    },
    dest,
  );
}

export const silentLogger: Logger = pino({ level: "silent" });
