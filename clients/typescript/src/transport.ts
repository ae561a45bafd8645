import type { ChatTransport, UIMessage, UIMessageChunk } from "ai";
import { errorFromResponse, UnexpectedResponse } from "./errors.js";
import { getFetch, resolveHeaders, type FetchFunction, type HeadersOption, type TokenOption } from "./http.js";
import {
  DEFAULT_MAX_RECONNECTS,
  DEFAULT_RECONNECT_DELAY_MS,
  ResumableEventStream,
  sleep,
  toReadableStream,
} from "./resumable.js";
import { stopThread, type StopResult, type StopThreadOptions } from "./stop.js";
import { routeUrl } from "./wire.js";

export type SendMessagesOptions<UI_MESSAGE extends UIMessage = UIMessage> = Parameters<
  ChatTransport<UI_MESSAGE>["sendMessages"]
>[0];
export type ReconnectToStreamOptions = Parameters<ChatTransport<UIMessage>["reconnectToStream"]>[0];

/**
 * What a delegated `sendMessages` returns: the reply's chunks, or nothing (or the thread
 * id the pipeline writes to) to follow that thread's stream instead.
 */
export type SendMessagesResult = ReadableStream<UIMessageChunk> | { threadId?: string | undefined } | undefined | void;

export interface AgentStreamsChatTransportOptions<UI_MESSAGE extends UIMessage = UIMessage> {
  /** Where the SSE routes live (`{baseUrl}/threads/{id}/stream`). */
  baseUrl: string;
  /** Where the JSON API lives (used by `stopThread`); defaults to `baseUrl`. */
  apiUrl?: string | undefined;
  headers?: HeadersOption | undefined;
  /** Sent as `Authorization: Bearer <token>`; called before each request. */
  token?: TokenOption | undefined;
  fetch?: FetchFunction | undefined;
  /**
   * Starts a turn (writing is the agent pipeline's job). Return the reply's chunks, or
   * nothing to follow `{baseUrl}/threads/{chatId}/stream` (or `{threadId}`'s).
   */
  sendMessages?: ((options: SendMessagesOptions<UI_MESSAGE>) => SendMessagesResult | Promise<SendMessagesResult>) | undefined;
  /**
   * Instead of `sendMessages`: POST the AI SDK's usual body (`{id, messages, trigger,
   * messageId, ...body}`) here. The reply is either a UI message SSE stream, or JSON
   * `{threadId}` / 204 after which the thread's stream is followed.
   */
  sendUrl?: string | undefined;
  /** Failed connection attempts in a row before giving up (default 8). */
  maxReconnects?: number | undefined;
  /** The first backoff delay, doubled per failed attempt (default 500 ms). */
  reconnectDelayMs?: number | undefined;
  /** After a send, how long to wait for the pipeline to start streaming (default 10 s). */
  startTimeoutMs?: number | undefined;
}

function isReadableStream(value: unknown): value is ReadableStream<UIMessageChunk> {
  return typeof value === "object" && value !== null && typeof (value as { getReader?: unknown }).getReader === "function";
}

/**
 * An AI SDK 5 `ChatTransport` reading agent-streams threads: `useChat({ id: threadId,
 * resume: true, transport: new AgentStreamsChatTransport({ baseUrl }) })`.
 */
export class AgentStreamsChatTransport<UI_MESSAGE extends UIMessage = UIMessage> implements ChatTransport<UI_MESSAGE> {
  private readonly options: AgentStreamsChatTransportOptions<UI_MESSAGE>;

  constructor(options: AgentStreamsChatTransportOptions<UI_MESSAGE>) {
    if (!options.baseUrl) throw new TypeError("AgentStreamsChatTransport: baseUrl is required");
    this.options = options;
  }

  /** `GET {baseUrl}/threads/{chatId}/stream`: null when nothing is streaming (204). */
  async reconnectToStream(options: ReconnectToStreamOptions): Promise<ReadableStream<UIMessageChunk> | null> {
    const source = this.threadSource(options.chatId, options.headers, options.abortSignal);
    return (await source.connect()) ? toReadableStream(source) : null;
  }

  async sendMessages(options: SendMessagesOptions<UI_MESSAGE>): Promise<ReadableStream<UIMessageChunk>> {
    const { sendMessages, sendUrl } = this.options;
    if (sendMessages !== undefined) {
      const result = await sendMessages(options);
      if (isReadableStream(result)) return result;
      return this.followAfterSend((result && result.threadId) || options.chatId, options);
    }
    if (sendUrl !== undefined) return this.post(sendUrl, options);
    throw new TypeError(
      "AgentStreamsChatTransport cannot send messages by itself (the agent pipeline writes replies): " +
        "pass `sendMessages: (options) => ...` to start a turn, or `sendUrl` to POST the chat request to your backend.",
    );
  }

  /** The stop button for this chat: aborts the thread's streaming turn via `{apiUrl}`. */
  stopThread(threadId: string, options: Omit<StopThreadOptions, "headers" | "token" | "fetch"> = {}): Promise<StopResult> {
    const { apiUrl, baseUrl, headers, token, fetch } = this.options;
    return stopThread(apiUrl ?? baseUrl, threadId, { ...options, headers, token, fetch });
  }

  private threadSource(
    threadId: string,
    extraHeaders: Record<string, string> | Headers | undefined,
    signal: AbortSignal | undefined,
    resumeOnlyWithId = false,
  ): ResumableEventStream {
    return new ResumableEventStream({
      url: routeUrl(this.options.baseUrl, "thread_stream", { threadId }),
      headers: () => resolveHeaders(this.options, extraHeaders),
      fetch: this.options.fetch,
      signal,
      maxReconnects: this.options.maxReconnects ?? DEFAULT_MAX_RECONNECTS,
      reconnectDelayMs: this.options.reconnectDelayMs ?? DEFAULT_RECONNECT_DELAY_MS,
      resumeOnlyWithId,
    });
  }

  private async post(url: string, options: SendMessagesOptions<UI_MESSAGE>): Promise<ReadableStream<UIMessageChunk>> {
    const body = { ...options.body, id: options.chatId, messages: options.messages, trigger: options.trigger, messageId: options.messageId };
    const headers = await resolveHeaders(this.options, options.headers, { "content-type": "application/json" });
    const init: RequestInit = { method: "POST", headers, body: JSON.stringify(body) };
    if (options.abortSignal !== undefined) init.signal = options.abortSignal;
    const response = await getFetch(this.options)(url, init);
    if (!response.ok) throw await errorFromResponse(response);
    if (response.status !== 204 && (response.headers.get("content-type") ?? "").includes("text/event-stream")) {
      // Read the reply; if it ends before [DONE] and carried ids, resume from the thread route.
      const source = this.threadSource(options.chatId, options.headers, options.abortSignal, true);
      source.adopt(response);
      return toReadableStream(source);
    }
    let threadId = options.chatId;
    const text = response.status === 204 ? "" : await response.text();
    if (text !== "") {
      let reply: unknown;
      try {
        reply = JSON.parse(text);
      } catch (cause) {
        throw new UnexpectedResponse(`POST ${url}: expected an SSE stream, JSON {threadId} or 204`, { code: "UnexpectedResponse", status: response.status, body: text, cause });
      }
      const replied = (reply as { threadId?: unknown } | null)?.threadId;
      if (typeof replied === "string" && replied !== "") threadId = replied;
    }
    return this.followAfterSend(threadId, options);
  }

  /** Follows the thread's stream, waiting (bounded) for the pipeline to start it. */
  private async followAfterSend(threadId: string, options: SendMessagesOptions<UI_MESSAGE>): Promise<ReadableStream<UIMessageChunk>> {
    const deadline = Date.now() + (this.options.startTimeoutMs ?? 10_000);
    const pollMs = Math.min(this.options.reconnectDelayMs ?? DEFAULT_RECONNECT_DELAY_MS, 250);
    for (;;) {
      const source = this.threadSource(threadId, options.headers, options.abortSignal);
      if (await source.connect()) return toReadableStream(source);
      if (Date.now() >= deadline) {
        throw new UnexpectedResponse(`No stream started on thread ${threadId} within ${this.options.startTimeoutMs ?? 10_000} ms of sending`, {
          code: "UnexpectedResponse",
          status: 204,
        });
      }
      await sleep(pollMs, options.abortSignal);
    }
  }
}
