/**
 * Turns errors of the `openai` client into one-line `ModelError`s for the user. The messages name the
 * endpoint (without credentials or query string) and the model, never the API key; anything the server
 * said is passed through `redact` before it lands in the technical detail.
 */
import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from "openai";
import { ModelError } from "../../errors.ts";

/** The endpoint as shown to users: no user:password, no query string (Azure-style `?api-key=`), no trailing slash. */
export function displayEndpoint(baseURL: string): string {
  try {
    const url = new URL(baseURL);
    url.username = "";
    url.password = "";
    url.search = "";
    url.hash = "";
    return url.toString().replace(/\/+$/, "");
  } catch {
    return baseURL.replace(/[?#].*$/, "").replace(/\/+$/, "");
  }
}

/** Replaces every occurrence of the secret (and of long key-like tokens) in a text. */
export function redact(text: string, secret: string | undefined): string {
  let out = text;
  if (secret && secret.length >= 4) out = out.split(secret).join("[redacted]");
  return out.replace(/\b(sk-[A-Za-z0-9_\-*]{6,})/g, "[redacted]");
}

/** Error codes found on the error or anywhere in its cause chain (undici nests them, sometimes in an AggregateError). */
function errorCodes(err: unknown, depth = 0): string[] {
  if (!err || typeof err !== "object" || depth > 6) return [];
  const codes: string[] = [];
  const rec = err as { code?: unknown; cause?: unknown; errors?: unknown };
  if (typeof rec.code === "string") codes.push(rec.code);
  if (rec.cause) codes.push(...errorCodes(rec.cause, depth + 1));
  if (Array.isArray(rec.errors)) for (const e of rec.errors) codes.push(...errorCodes(e, depth + 1));
  return codes;
}

function causeMessages(err: unknown, depth = 0): string[] {
  if (!err || typeof err !== "object" || depth > 6) return [];
  const rec = err as { message?: unknown; cause?: unknown };
  const own = typeof rec.message === "string" && rec.message ? [rec.message] : [];
  return [...own, ...causeMessages(rec.cause, depth + 1)];
}

const CONNECTION_REASONS: Array<[string, string]> = [
  ["ECONNREFUSED", "connection refused"],
  ["ENOTFOUND", "host not found (DNS lookup failed)"],
  ["EAI_AGAIN", "host not found (DNS lookup failed)"],
  ["ECONNRESET", "the connection was reset"],
  ["EHOSTUNREACH", "host unreachable"],
  ["ENETUNREACH", "network unreachable"],
  ["ETIMEDOUT", "the connection timed out"],
  ["UND_ERR_CONNECT_TIMEOUT", "the connection timed out"],
  ["UND_ERR_SOCKET", "the connection was closed unexpectedly"],
  ["CERT_HAS_EXPIRED", "its TLS certificate has expired"],
  ["DEPTH_ZERO_SELF_SIGNED_CERT", "its TLS certificate is self-signed"],
  ["SELF_SIGNED_CERT_IN_CHAIN", "its TLS certificate chain is self-signed"],
  ["UNABLE_TO_VERIFY_LEAF_SIGNATURE", "its TLS certificate cannot be verified"],
  ["ERR_TLS_CERT_ALTNAME_INVALID", "its TLS certificate does not match the host name"],
];

export interface ErrorContext {
  baseURL: string;
  model: string;
  apiKey: string | undefined;
  maxRetries: number;
  timeoutMs: number;
}

/** True for errors raised because the caller aborted (these are passed through, not wrapped). */
export function isAbort(err: unknown, signal?: AbortSignal): boolean {
  return err instanceof APIUserAbortError || (signal?.aborted ?? false);
}

function serverMessage(err: APIError, apiKey: string | undefined): string {
  const body = err.error as { message?: unknown } | undefined;
  const text = typeof body?.message === "string" ? body.message : err.message;
  return redact(text.replace(/\s+/g, " ").trim().slice(0, 300), apiKey);
}

/** Maps any error of a request to a `ModelError` with one clear user line. */
export function toModelError(err: unknown, ctx: ErrorContext): ModelError {
  if (err instanceof ModelError) return err;
  const where = displayEndpoint(ctx.baseURL);
  const attempts = ctx.maxRetries + 1;
  const tries = attempts === 1 ? "1 attempt" : `${attempts} attempts`;

  if (err instanceof APIConnectionTimeoutError) {
    return new ModelError(
      `The model endpoint at ${where} did not answer within ${ctx.timeoutMs < 1000 ? `${ctx.timeoutMs} ms` : `${Math.round(ctx.timeoutMs / 1000)} s`} (${tries}).`,
      { detail: "request timed out", fatal: false },
    );
  }
  if (err instanceof APIConnectionError) {
    const codes = errorCodes(err);
    const reason = CONNECTION_REASONS.find(([code]) => codes.includes(code))?.[1];
    const detail = redact(causeMessages(err).join(" <- "), ctx.apiKey);
    return new ModelError(`Cannot reach the model endpoint at ${where}: ${reason ?? "connection failed"}.`, { detail });
  }
  if (err instanceof APIError && typeof err.status === "number") {
    const status = err.status;
    const detail = `HTTP ${status}: ${serverMessage(err, ctx.apiKey)}`;
    if (status === 401) {
      return new ModelError(
        `The model endpoint at ${where} rejected the API key (401 Unauthorized); check the key you configured.`,
        { detail: `HTTP 401` },
      );
    }
    if (status === 402) {
      return new ModelError(
        `The model endpoint at ${where} refused the request for lack of credit (402 Payment Required).`,
        { detail },
      );
    }
    if (status === 403) {
      return new ModelError(`The model endpoint at ${where} refused access to model "${ctx.model}" (403 Forbidden).`, {
        detail,
      });
    }
    if (status === 404) {
      return new ModelError(
        `Model "${ctx.model}" was not found at ${where} (404); check the model name and the base URL.`,
        { detail },
      );
    }
    if (status === 429) {
      const code = (err as { code?: unknown }).code;
      if (code === "insufficient_quota") {
        return new ModelError(`The model endpoint at ${where} reports that the account's quota is used up (429).`, {
          detail,
        });
      }
      return new ModelError(`The model endpoint at ${where} kept rate-limiting requests (429) after ${tries}.`, {
        detail,
      });
    }
    if (status >= 500) {
      return new ModelError(`The model endpoint at ${where} kept failing (HTTP ${status}) after ${tries}.`, { detail });
    }
    if (status === 400 || status === 413 || status === 422) {
      // About this request (its prompt, its parameters): a later one may well go through.
      return new ModelError(
        `The model endpoint at ${where} rejected the request for model "${ctx.model}" (HTTP ${status}): ${serverMessage(err, ctx.apiKey).slice(0, 160)}`,
        { detail, fatal: false },
      );
    }
    return new ModelError(`The model endpoint at ${where} answered with HTTP ${status} for model "${ctx.model}".`, {
      detail,
    });
  }
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof SyntaxError || (err as { cause?: unknown } | null)?.cause instanceof SyntaxError) {
    return new ModelError(
      `The model endpoint at ${where} answered with JSON that cannot be read (cut off or malformed).`,
      { detail: redact(message, ctx.apiKey), fatal: false },
    );
  }
  return new ModelError(`The request to the model endpoint at ${where} failed.`, {
    detail: redact(message, ctx.apiKey),
  });
}
