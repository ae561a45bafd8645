/** Errors mirroring the service's error codes (`{"error": code, "message": text}` bodies). */

import type { ErrorReply } from "./wire.js";

export interface AgentStreamsErrorInit {
  code: string;
  status: number;
  /** Seconds to wait before retrying, from a `Retry-After` header. */
  retryAfter?: number | undefined;
  /** The parsed JSON body (or the text when it was not JSON). */
  body?: unknown;
  cause?: unknown;
}

export class AgentStreamsError extends Error {
  /** The service's error code (`ValidationError`, `StreamNotFound`, ...) or `UnexpectedResponse`. */
  readonly code: string;
  /** The HTTP status (0 when there was no response). */
  readonly status: number;
  readonly retryAfter: number | undefined;
  readonly body: unknown;

  constructor(message: string, init: AgentStreamsErrorInit) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = new.target.name;
    this.code = init.code;
    this.status = init.status;
    this.retryAfter = init.retryAfter;
    this.body = init.body;
  }
}

/** 422: a request the service rejected as invalid. */
export class ValidationError extends AgentStreamsError {}
/** 404: no such thread (or not visible to this caller). */
export class ThreadNotFound extends AgentStreamsError {}
/** 404: no such stream. */
export class StreamNotFound extends AgentStreamsError {}
/** 409: the thread is being deleted. */
export class ThreadDeleting extends AgentStreamsError {}
/** 409: a delta did not start where the stream ends. */
export class DeltaConflict extends AgentStreamsError {
  /** The `start` the stream expects next. */
  readonly expectedStart: number | undefined;
  constructor(message: string, init: AgentStreamsErrorInit & { expectedStart?: number | undefined }) {
    super(message, init);
    this.expectedStart = init.expectedStart;
  }
}
/** 413: a delta over the size limit. */
export class DeltaTooLarge extends AgentStreamsError {}
/** 413: a reply over the size limit. */
export class ReplyTooLarge extends AgentStreamsError {}
/** 401: missing or invalid credentials. */
export class Unauthorized extends AgentStreamsError {}
/** 403: credentials without access. */
export class Forbidden extends AgentStreamsError {}
/** 503: the service is throttled; safe to retry after `retryAfter` seconds. */
export class ServiceUnavailable extends AgentStreamsError {}
/** Any other status, an unknown error code, or a malformed reply. */
export class UnexpectedResponse extends AgentStreamsError {}

type ErrorClass = new (message: string, init: AgentStreamsErrorInit) => AgentStreamsError;

// Every code the service documents has its class (a new one fails the build until it does).
const BY_CODE: Record<Exclude<ErrorReply["error"], "InternalError">, ErrorClass> = {
  ValidationError,
  ThreadNotFound,
  StreamNotFound,
  ThreadDeleting,
  DeltaConflict,
  DeltaTooLarge,
  ReplyTooLarge,
  Unauthorized,
  Forbidden,
  ServiceUnavailable,
};

// Replies without a known code (API Gateway's own 401/403, a proxy's 503).
const BY_STATUS: Record<number, [ErrorClass, string]> = {
  401: [Unauthorized, "Unauthorized"],
  403: [Forbidden, "Forbidden"],
  503: [ServiceUnavailable, "ServiceUnavailable"],
};

/** `Retry-After` as seconds: delta-seconds or an HTTP date. */
export function parseRetryAfter(value: string | null, now: number = Date.now()): number | undefined {
  if (value === null || value.trim() === "") return undefined;
  const trimmed = value.trim();
  if (/^[0-9]+$/.test(trimmed)) return Number(trimmed);
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, Math.ceil((date - now) / 1000));
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The typed error for a non-2xx response (reads its body). */
export async function errorFromResponse(response: Response): Promise<AgentStreamsError> {
  let text = "";
  try {
    text = await response.text();
  } catch {
    // a body that fails to read still gets a typed error from its status
  }
  let body: unknown = text;
  try {
    body = text === "" ? undefined : JSON.parse(text);
  } catch {
    // not JSON
  }
  const retryAfter = parseRetryAfter(response.headers.get("retry-after"));
  const status = response.status;
  const code = isRecord(body) && typeof body.error === "string" ? body.error : undefined;
  const bodyMessage =
    isRecord(body) && typeof body.message === "string"
      ? body.message
      : typeof body === "string" && body !== ""
        ? body.slice(0, 500)
        : undefined;
  const message = bodyMessage ?? `HTTP ${status}${response.statusText ? ` ${response.statusText}` : ""}`;

  const known = code !== undefined && Object.hasOwn(BY_CODE, code) ? BY_CODE[code as keyof typeof BY_CODE] : undefined;
  if (known !== undefined && code !== undefined) {
    if (known === DeltaConflict) {
      const expectedStart = isRecord(body) && typeof body.expectedStart === "number" ? body.expectedStart : undefined;
      return new DeltaConflict(message, { code, status, retryAfter, body, expectedStart });
    }
    return new known(message, { code, status, retryAfter, body });
  }
  const byStatus = BY_STATUS[status];
  if (byStatus !== undefined) {
    const [cls, statusCode] = byStatus;
    return new cls(message, { code: code ?? statusCode, status, retryAfter, body });
  }
  return new UnexpectedResponse(message, { code: code ?? "UnexpectedResponse", status, retryAfter, body });
}
