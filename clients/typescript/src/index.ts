export { AgentStreamsChatTransport } from "./transport.js";
export type {
  AgentStreamsChatTransportOptions,
  ReconnectToStreamOptions,
  SendMessagesOptions,
  SendMessagesResult,
} from "./transport.js";
export { followStream, followStreamEvents } from "./follow.js";
export type { FollowedStream, FollowStreamOptions } from "./follow.js";
export type { StreamEvent } from "./resumable.js";
export { stopStream, stopThread } from "./stop.js";
export type { StopOptions, StopResult, StopThreadOptions } from "./stop.js";
export {
  AgentStreamsError,
  DeltaConflict,
  DeltaTooLarge,
  errorFromResponse,
  Forbidden,
  ReplyTooLarge,
  ServiceUnavailable,
  StreamNotFound,
  ThreadDeleting,
  ThreadNotFound,
  Unauthorized,
  UnexpectedResponse,
  ValidationError,
} from "./errors.js";
export type { AgentStreamsErrorInit } from "./errors.js";
export { parseSse, SseParser } from "./sse.js";
export type { SseEvent, SseParserOptions } from "./sse.js";
export type { FetchFunction, HeadersOption, RequestOptions, TokenOption } from "./http.js";
// The wire's shapes and routes, generated from openapi.json (`make openapi`).
export * from "./wire.js";
