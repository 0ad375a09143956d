/**
 * Tool calls assembled from Chat Completions deltas, the way the AI SDK's StreamingToolCallTracker
 * does it, so both clients agree on every stream: a delta joins the call with its `index` (or its
 * `id`, or the one call still open when a server sends neither); a delta that names a function and
 * opens a new JSON value where the call at that index is already a complete value starts another
 * call (servers that send every call as index 0). Calls come out when the stream ends, by index.
 * `bufferUntilNamed` (the OpenAI-compatible adapter's behaviour) holds deltas of an index back
 * until one names the function; without it a nameless first delta is an error.
 */
import { randomBytes } from "node:crypto";

export interface ToolCallDelta {
  index?: number | null;
  id?: string | null;
  type?: string | null;
  function?: { name?: string | null; arguments?: string | null } | null;
}

export interface AssembledCall {
  id: string;
  name: string;
  arguments: string;
}

interface Call extends AssembledCall {
  index: number | undefined;
  sequence: number;
  args: ArgumentShape;
}

/** Whether the arguments so far are one complete JSON object or array (strings and escapes skipped). */
class ArgumentShape {
  private kind: "undetermined" | "structured" | "other" = "undetermined";
  private stack: string[] = [];
  private inString = false;
  private escaped = false;
  complete = false;

  append(delta: string): void {
    for (const ch of delta) {
      if (this.kind === "undetermined") {
        if (/\s/.test(ch)) continue;
        if (ch !== "{" && ch !== "[") {
          this.kind = "other";
          continue;
        }
        this.kind = "structured";
        this.stack = [ch];
        continue;
      }
      if (this.kind !== "structured" || this.complete) continue;
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (ch === "\\") this.escaped = true;
        else if (ch === '"') this.inString = false;
        continue;
      }
      if (ch === '"') this.inString = true;
      else if (ch === "{" || ch === "[") this.stack.push(ch);
      else if (ch === "}" || ch === "]") {
        if (this.stack.at(-1) !== (ch === "}" ? "{" : "[")) {
          this.kind = "other";
          continue;
        }
        this.stack.pop();
        if (this.stack.length === 0) this.complete = true;
      }
    }
  }
}

const nonBlank = (s: string | null | undefined): string | undefined =>
  s !== null && s !== undefined && s.trim().length > 0 ? s : undefined;
const opensStructured = (s: string | null | undefined): boolean => {
  const c = typeof s === "string" ? s.trimStart()[0] : undefined;
  return c === "{" || c === "[";
};

/** A provider-style id for a call the server sent without one. */
function generatedId(): string {
  return randomBytes(12).toString("base64url");
}

type Resolution = { kind: "new" } | { kind: "existing"; call: Call } | { kind: "ambiguous" };

export class ToolCallAssembler {
  private readonly calls: Call[] = [];
  private readonly byId = new Map<string, Set<Call>>();
  private readonly byIndex = new Map<number, Set<Call>>();
  private readonly usedIds = new Set<string>();
  /** bufferUntilNamed: deltas per index before the one that names the function. */
  private readonly pending = new Map<number, { id: string | null; args: string }>();
  private readonly forwarded = new Set<number>();

  private readonly options: { bufferUntilNamed: boolean; checkType: boolean };

  constructor(options: { bufferUntilNamed: boolean; checkType: boolean }) {
    this.options = options;
  }

  get size(): number {
    return this.calls.length + this.pending.size;
  }

  /** Throws (a message for a provider error) on a delta that cannot start a call. */
  push(delta: ToolCallDelta): void {
    if (!this.options.bufferUntilNamed) return this.process(delta);
    const index = delta.index;
    if (index === null || index === undefined || this.forwarded.has(index)) return this.process(delta);
    let p = this.pending.get(index);
    if (!p) {
      p = { id: delta.id ?? null, args: "" };
      this.pending.set(index, p);
    } else if (p.id === null && delta.id !== null && delta.id !== undefined) p.id = delta.id;
    if (delta.function?.arguments !== null && delta.function?.arguments !== undefined)
      p.args += delta.function.arguments;
    const name = delta.function?.name;
    if (name !== null && name !== undefined) {
      this.process({ index, id: p.id, function: { name, arguments: p.args } });
      this.pending.delete(index);
      this.forwarded.add(index);
    }
  }

  /** Every call, in index order when every call has one (else arrival order). */
  finish(): AssembledCall[] {
    for (const [index, p] of this.pending) this.process({ index, id: p.id, function: { arguments: p.args } });
    this.pending.clear();
    const calls = this.calls.every((c) => c.index !== undefined)
      ? [...this.calls].sort((a, b) => a.index! - b.index! || a.sequence - b.sequence)
      : this.calls;
    return calls.map((c) => ({ id: c.id, name: c.name, arguments: c.arguments }));
  }

  private process(delta: ToolCallDelta): void {
    const wireName = delta.function?.name;
    const blankName = typeof wireName === "string" && wireName.trim().length === 0;
    const wireId = nonBlank(delta.id);
    const name = nonBlank(wireName);
    const index = delta.index ?? undefined;
    const r = this.resolve(wireId, index, name, name !== undefined && opensStructured(delta.function?.arguments));
    if (r.kind === "ambiguous") return;
    let call: Call;
    if (r.kind === "new") {
      if (blankName) return;
      if (this.options.checkType && delta.type !== null && delta.type !== undefined && delta.type !== "function")
        throw new Error("Expected 'function' type.");
      if (name === undefined) throw new Error("Expected 'function.name' to be a string.");
      const args = delta.function?.arguments ?? "";
      call = {
        id: this.idFor(wireId),
        index,
        sequence: this.calls.length,
        name,
        arguments: args,
        args: new ArgumentShape(),
      };
      call.args.append(args);
      this.calls.push(call);
      if (wireId !== undefined) this.link(this.byId, wireId, call);
    } else {
      call = r.call;
      if (wireId !== undefined) this.link(this.byId, wireId, call);
      const more = delta.function?.arguments;
      if (more !== null && more !== undefined) {
        call.args.append(more);
        call.arguments += more;
      }
    }
    if (index !== undefined) this.link(this.byIndex, index, call);
  }

  private resolve(
    wireId: string | undefined,
    index: number | undefined,
    name: string | undefined,
    explicitStart: boolean,
  ): Resolution {
    const atIndex = index !== undefined ? this.byIndex.get(index) : undefined;
    const matching = atIndex ? [...atIndex].filter((c) => name === undefined || c.name === name) : [];
    if (wireId !== undefined) {
      const withId = this.byId.get(wireId);
      if (withId) {
        if (index !== undefined) {
          const r = this.match(
            matching.filter((c) => withId.has(c)),
            explicitStart,
          );
          if (r.kind !== "new") return r;
          if (name !== undefined) return { kind: "new" };
          if (atIndex) return { kind: "ambiguous" };
          return this.match([...withId], false);
        }
        if (name !== undefined)
          return this.match(
            [...withId].filter((c) => c.name === name),
            explicitStart,
          );
        return this.match([...withId], false);
      }
      if (matching.length > 0) return explicitStart ? { kind: "new" } : this.match(matching, false);
      return { kind: "new" };
    }
    if (atIndex) return this.match(matching, explicitStart);
    if (name !== undefined) return { kind: "new" };
    // Nothing to go by: the one call still open, if there is exactly one (none closes before the end).
    if (this.calls.length === 1) return { kind: "existing", call: this.calls[0]! };
    return this.calls.length > 1 ? { kind: "ambiguous" } : { kind: "new" };
  }

  private match(calls: Call[], explicitStart: boolean): Resolution {
    if (calls.length === 0) return { kind: "new" };
    if (!explicitStart) return calls.length === 1 ? { kind: "existing", call: calls[0]! } : { kind: "ambiguous" };
    const open = calls.filter((c) => !c.args.complete);
    if (open.length === 1) return { kind: "existing", call: open[0]! };
    return open.length > 1 ? { kind: "ambiguous" } : { kind: "new" };
  }

  private link<K>(map: Map<K, Set<Call>>, key: K, call: Call): void {
    let set = map.get(key);
    if (!set) map.set(key, (set = new Set()));
    set.add(call);
  }

  private idFor(wireId: string | undefined): string {
    if (wireId !== undefined && !this.usedIds.has(wireId)) {
      this.usedIds.add(wireId);
      return wireId;
    }
    let id = generatedId();
    while (this.usedIds.has(id)) id = generatedId();
    this.usedIds.add(id);
    return id;
  }
}
