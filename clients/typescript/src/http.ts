import { errorFromResponse, UnexpectedResponse } from "./errors.js";

/** Extra headers for every request, or a function giving them (called per request). */
export type HeadersOption =
  | Record<string, string>
  | (() => Record<string, string> | Promise<Record<string, string>>);

/** A bearer token, or a getter called before every request (so it can refresh). */
export type TokenOption = string | (() => string | undefined | Promise<string | undefined>);

export type FetchFunction = typeof globalThis.fetch;

/** Options shared by every call. */
export interface RequestOptions {
  headers?: HeadersOption | undefined;
  /** Sent as `Authorization: Bearer <token>` when it yields a non-empty string. */
  token?: TokenOption | undefined;
  /** Defaults to `globalThis.fetch`. */
  fetch?: FetchFunction | undefined;
  signal?: AbortSignal | undefined;
}

/** Resolves the headers and token into one plain object (later sources win). */
export async function resolveHeaders(
  options: Pick<RequestOptions, "headers" | "token">,
  ...extra: Array<Record<string, string> | Headers | undefined>
): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const add = (source: Record<string, string> | Headers | undefined): void => {
    if (source === undefined) return;
    // Duck-typed: a Headers object from another realm (or fetch polyfill) fails instanceof.
    if (typeof (source as Headers).forEach === "function" && typeof (source as Headers).get === "function") {
      (source as Headers).forEach((value, key) => (out[key.toLowerCase()] = value));
    } else {
      for (const [key, value] of Object.entries(source)) out[key.toLowerCase()] = value;
    }
  };
  add(typeof options.headers === "function" ? await options.headers() : options.headers);
  for (const source of extra) add(source);
  const token = typeof options.token === "function" ? await options.token() : options.token;
  if (token) out["authorization"] = `Bearer ${token}`;
  return out;
}

/** `base` without trailing slashes + each segment URL-encoded. */
export function joinUrl(base: string, ...segments: string[]): string {
  return [base.replace(/\/+$/, ""), ...segments.map(encodeURIComponent)].join("/");
}

export function getFetch(options: { fetch?: FetchFunction | undefined }): FetchFunction {
  const f = options.fetch ?? globalThis.fetch;
  if (typeof f !== "function") throw new TypeError("agent-streams: no fetch available; pass options.fetch");
  return f;
}

/** Sends a JSON request and returns the parsed reply (undefined for an empty body); non-2xx throws. */
export async function requestJson(
  method: string,
  url: string,
  options: RequestOptions,
  body?: unknown,
): Promise<unknown> {
  const headers = await resolveHeaders(
    options,
    { accept: "application/json" },
    body === undefined ? undefined : { "content-type": "application/json" },
  );
  const init: RequestInit = { method, headers };
  if (body !== undefined) init.body = JSON.stringify(body);
  if (options.signal !== undefined) init.signal = options.signal;
  const response = await getFetch(options)(url, init);
  if (!response.ok) throw await errorFromResponse(response);
  const text = await response.text();
  if (text === "") return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw new UnexpectedResponse(`${method} ${url}: the reply is not JSON`, {
      code: "UnexpectedResponse",
      status: response.status,
      body: text,
      cause,
    });
  }
}
