/**
 * Test page: useChat following an agent-streams thread. Query: ?threadId=T&baseUrl=URL[&apiUrl=URL][&token=TOKEN]
 * Stable hooks for the harness: data-testid = status, error, finish, stop, stop-result, resume,
 * assistant-text (the last assistant message's text), message-{i} (data-role, data-message-id),
 * part-{i}-{j} (data-part-type; text-, reasoning- and tool- parts also get text-/reasoning-/tool-{i}-{j}).
 */
import { useChat } from "@ai-sdk/react";
import { isToolOrDynamicToolUIPart, type UIMessage } from "ai";
import { StrictMode, useMemo, useState } from "react";
import { createRoot } from "react-dom/client";
import { AgentStreamsChatTransport, stopThread } from "@agent-streams/client";

const query = new URLSearchParams(location.search);
const threadId = query.get("threadId") ?? "";
const baseUrl = query.get("baseUrl") ?? "";
const apiUrl = query.get("apiUrl") ?? baseUrl;
const token = query.get("token") ?? undefined;

function Part({ part, i, j }: { part: UIMessage["parts"][number]; i: number; j: number }) {
  const id = `${i}-${j}`;
  if (part.type === "text") {
    return <p data-testid={`text-${id}`} data-part-type="text" data-state={part.state ?? ""}>{part.text}</p>;
  }
  if (part.type === "reasoning") {
    return <blockquote data-testid={`reasoning-${id}`} data-part-type="reasoning" data-state={part.state ?? ""}>{part.text}</blockquote>;
  }
  if (isToolOrDynamicToolUIPart(part)) {
    const name = part.type === "dynamic-tool" ? part.toolName : part.type.slice("tool-".length);
    return (
      <pre data-testid={`tool-${id}`} data-part-type="tool" data-tool-name={name} data-state={part.state} style={{ whiteSpace: "pre-wrap" }}>
        {name}({JSON.stringify(part.input ?? null)}){part.state === "output-available" ? ` → ${JSON.stringify(part.output)}` : ""}
        {part.state === "output-error" ? ` ✗ ${part.errorText}` : ""}
      </pre>
    );
  }
  return <span data-testid={`part-${id}`} data-part-type={part.type}>[{part.type}]</span>;
}

function App() {
  const transport = useMemo(() => new AgentStreamsChatTransport({ baseUrl, apiUrl, token: () => token }), []);
  const [finish, setFinish] = useState("");
  const [stopResult, setStopResult] = useState("");
  const { messages, status, error, resumeStream } = useChat({
    id: threadId,
    resume: true,
    transport,
    onFinish: ({ isAbort, isDisconnect, isError }) => setFinish(JSON.stringify({ isAbort, isDisconnect, isError })),
  });
  const lastAssistant = [...messages].reverse().find((m) => m.role === "assistant");
  const assistantText = lastAssistant?.parts.map((p) => (p.type === "text" ? p.text : "")).join("") ?? "";
  const stop = async () => {
    setStopResult("pending");
    try {
      setStopResult(JSON.stringify(await stopThread(apiUrl, threadId, { token: () => token })));
    } catch (e) {
      setStopResult(`error: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
    }
  };
  return (
    <main style={{ fontFamily: "sans-serif", maxWidth: 720, margin: "1em auto" }}>
      <h1 style={{ fontSize: 18 }}>agent-streams · thread {threadId}</h1>
      <div>
        status: <b data-testid="status">{status}</b>{" "}
        <button data-testid="stop" onClick={() => void stop()}>Stop</button>{" "}
        <button data-testid="resume" onClick={() => void resumeStream()}>Resume</button>{" "}
        <span data-testid="stop-result">{stopResult}</span>
      </div>
      <div data-testid="error" style={{ color: "crimson" }}>{error ? `${error.name}: ${error.message}` : ""}</div>
      <div data-testid="finish">{finish}</div>
      <div data-testid="assistant-text" hidden>{assistantText}</div>
      {messages.map((m, i) => (
        <section key={m.id} data-testid={`message-${i}`} data-role={m.role} data-message-id={m.id} style={{ borderTop: "1px solid #ccc" }}>
          <small>{m.role}</small>
          {m.parts.map((p, j) => (
            <Part key={j} part={p} i={i} j={j} />
          ))}
        </section>
      ))}
    </main>
  );
}

const root = document.getElementById("root");
if (root) createRoot(root).render(<StrictMode><App /></StrictMode>);
