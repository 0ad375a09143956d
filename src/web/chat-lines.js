// @ts-check
/**
 * How one chat event of the open conversation changes its lines: a delta grows (or starts) the
 * run's streaming line, a final/aborted/error event settles it and adds command answers and errors.
 * Kept apart from the page so the page is only wiring; `runs` holds each streaming run's line.
 */

/** @typedef {import("../gateway/protocol.ts").ChatEvent} ChatEvent */
/** @typedef {import("./message-view.js").Line} Line */

/**
 * @param {Line[]} lines
 * @param {Map<string, Line>} runs
 * @param {ChatEvent} ev
 * @returns {Line[]}
 */
export function applyChatEvent(lines, runs, ev) {
  let line = runs.get(ev.runId);
  if (ev.state === "delta") {
    if (typeof ev.text !== "string" || ev.text === "") return lines;
    if (!line) {
      line = {
        id: null,
        role: "assistant",
        text: "",
        timestamp: null,
        kind: "message",
        streaming: true,
        runId: ev.runId,
      };
      runs.set(ev.runId, line);
      lines = [...lines, line];
    }
    // A new object, so the line's view re-renders (the list is keyed by run id).
    const next = { ...line, text: line.text + ev.text };
    runs.set(ev.runId, next);
    return lines.map((l) => (l === line ? next : l));
  }
  runs.delete(ev.runId);
  if (line) {
    const done = {
      ...line,
      streaming: false,
      ...(ev.state === "final" && typeof ev.message === "string" ? { text: ev.message } : {}),
      ...(ev.state === "aborted" ? { stopReason: "aborted" } : {}),
    };
    lines = lines.map((l) => (l === line ? done : l));
  }
  if (ev.state === "final" && ev.status && typeof ev.message === "string" && ev.message)
    lines = [
      ...lines,
      { id: null, role: "assistant", text: ev.message, timestamp: null, kind: "message", local: "command" },
    ];
  if (ev.state === "error")
    lines = [
      ...lines,
      {
        id: null,
        role: "error",
        text: ev.errorMessage || "The run failed.",
        timestamp: null,
        kind: "message",
        local: "error",
      },
    ];
  return lines;
}
