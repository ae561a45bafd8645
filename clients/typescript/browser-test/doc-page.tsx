/**
 * The docs' React example (docs/browser.md shows chat-example.tsx verbatim; a test checks
 * they are the same) mounted as a page. Query: ?threadId=T&baseUrl=LIVE_URL[&apiUrl=API_URL].
 */
import { createRoot } from "react-dom/client";
import { Chat } from "./chat-example.tsx";

const query = new URLSearchParams(location.search);
const baseUrl = query.get("baseUrl") ?? "";
const root = document.getElementById("root");
if (root) {
  createRoot(root).render(
    <Chat threadId={query.get("threadId") ?? ""} liveUrl={baseUrl} apiUrl={query.get("apiUrl") ?? baseUrl} />,
  );
}
