import { UnexpectedResponse } from "./errors.js";
import { requestJson, type RequestOptions } from "./http.js";
import { routeUrl, type AbortStreamBody, type AbortStreamsByOrderBody, type Aborted, type StreamMessage } from "./wire.js";

export interface StopOptions extends RequestOptions {
  /** Recorded as the abort reason (default "user"). */
  reason?: string | undefined;
}

export interface StopThreadOptions extends StopOptions {
  /** The message order to abort; by default every order that has a streaming stream. */
  order?: number | undefined;
}

export interface StopResult {
  /** Whether any stream was aborted (false when nothing was streaming). */
  aborted: boolean;
}

function abortedOf(reply: unknown, url: string): boolean {
  if (typeof reply === "object" && reply !== null && typeof (reply as Partial<Aborted>).aborted === "boolean") {
    return (reply as Aborted).aborted;
  }
  throw new UnexpectedResponse(`POST ${url}: expected {aborted: boolean}`, { code: "UnexpectedResponse", status: 200, body: reply });
}

/**
 * The stop button: aborts what a thread is streaming. Without `order` it lists the
 * thread's streaming streams and aborts each distinct order (usually one).
 */
export async function stopThread(apiUrl: string, threadId: string, options: StopThreadOptions = {}): Promise<StopResult> {
  let orders: number[];
  if (options.order !== undefined) {
    orders = [options.order];
  } else {
    const listUrl = `${routeUrl(apiUrl, "list_streams", { threadId })}?statuses=streaming`;
    const streams = await requestJson("GET", listUrl, options);
    if (!Array.isArray(streams)) {
      throw new UnexpectedResponse(`GET ${listUrl}: expected a JSON array`, { code: "UnexpectedResponse", status: 200, body: streams });
    }
    orders = [
      ...new Set(
        streams.map((s: unknown) => (s as Partial<StreamMessage>).order).filter((o): o is number => typeof o === "number"),
      ),
    ];
  }
  const url = routeUrl(apiUrl, "abort_streams_by_order", { threadId });
  let aborted = false;
  for (const order of orders) {
    const body: AbortStreamsByOrderBody = { order, reason: options.reason ?? "user" };
    const reply = await requestJson("POST", url, options, body);
    aborted = abortedOf(reply, url) || aborted;
  }
  return { aborted };
}

/** Aborts one stream (`POST {apiUrl}/streams/{streamId}/abort`). */
export async function stopStream(apiUrl: string, streamId: string, options: StopOptions = {}): Promise<StopResult> {
  const url = routeUrl(apiUrl, "abort_stream", { streamId });
  const body: AbortStreamBody = { reason: options.reason ?? "user" };
  const reply = await requestJson("POST", url, options, body);
  return { aborted: abortedOf(reply, url) };
}
