"use client";
import { useChat } from "@ai-sdk/react";
import { AgentStreamsChatTransport } from "@agent-streams/client";
import { useMemo } from "react";

export function Chat({ threadId, liveUrl, apiUrl }: { threadId: string; liveUrl: string; apiUrl: string }) {
  const transport = useMemo(() => new AgentStreamsChatTransport({ baseUrl: liveUrl, apiUrl }), [liveUrl, apiUrl]);
  const { messages } = useChat({ id: threadId, resume: true, transport }); // live, and again after a reload
  return (
    <div>
      {messages.map((m) => m.parts.map((p, i) => (p.type === "text" ? <p key={`${m.id}-${i}`}>{p.text}</p> : null)))}
      <button onClick={() => void transport.stopThread(threadId)}>Stop</button>
    </div>
  );
}
