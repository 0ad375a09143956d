/**
 * In-place edits of a JSON5 config file (`pincer config set|unset`): the json5 package can parse
 * but not preserve comments, so this finds the span of the value at a path with a tokenizer that
 * understands comments and strings, and replaces, inserts or removes only that text. Everything
 * else in the file (comments, key quoting, order, blank lines) stays byte for byte.
 */
import JSON5 from "json5";
import { PincerError } from "../errors.ts";

export class ConfigEditError extends PincerError {
  override readonly code = "config_edit";
}

export type PathSegment = string | number;

/** `a.b[0]["x.y"]` → ["a", "b", 0, "x.y"] (OpenClaw's dot and bracket notation). */
export function parseConfigPath(raw: string): PathSegment[] {
  const out: PathSegment[] = [];
  let i = 0;
  const s = raw.trim();
  if (s === "") throw new ConfigEditError("empty config path");
  while (i < s.length) {
    if (s[i] === "[") {
      const close = s.indexOf("]", i);
      if (close < 0) throw new ConfigEditError(`config path ${raw}: unclosed [`);
      const inner = s.slice(i + 1, close).trim();
      if (/^\d+$/.test(inner)) out.push(Number(inner));
      else if (/^(["']).*\1$/.test(inner)) out.push(inner.slice(1, -1));
      else throw new ConfigEditError(`config path ${raw}: expected [<index>] or ["<key>"]`);
      i = close + 1;
      if (s[i] === ".") i++;
      continue;
    }
    let j = i;
    while (j < s.length && s[j] !== "." && s[j] !== "[") j++;
    const name = s.slice(i, j);
    if (name === "") throw new ConfigEditError(`config path ${raw}: empty segment`);
    out.push(name);
    i = j;
    if (s[i] === ".") {
      i++;
      if (i >= s.length) throw new ConfigEditError(`config path ${raw}: ends with a dot`);
    }
  }
  return out;
}

/** `set` values as OpenClaw's `config set` takes them: a JSON5 literal, else the raw string. */
export function parseCliValue(raw: string, strict = false): unknown {
  try {
    return JSON5.parse(raw);
  } catch (err) {
    if (strict) throw new ConfigEditError(`not a JSON5 value: ${raw} (${(err as Error).message})`);
    return raw;
  }
}

// ---- tokenizer

type Tok = { t: "{" | "}" | "[" | "]" | ":" | ","; s: number; e: number } | { t: "v"; s: number; e: number };

function tokenize(text: string): Tok[] {
  const toks: Tok[] = [];
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text[i]!;
    if (c === "/" && text[i + 1] === "/") {
      while (i < n && text[i] !== "\n") i++;
    } else if (c === "/" && text[i + 1] === "*") {
      const end = text.indexOf("*/", i + 2);
      if (end < 0) throw new ConfigEditError("unterminated /* comment");
      i = end + 2;
    } else if ("{}[]:,".includes(c)) {
      toks.push({ t: c as "{", s: i, e: i + 1 });
      i++;
    } else if (c === '"' || c === "'") {
      const s = i++;
      while (i < n && text[i] !== c) {
        if (text[i] === "\\") i++;
        else if (text[i] === "\n") throw new ConfigEditError(`unterminated string at offset ${s}`);
        i++;
      }
      if (i >= n) throw new ConfigEditError(`unterminated string at offset ${s}`);
      i++;
      toks.push({ t: "v", s, e: i });
    } else if (/\s/.test(c) || c === "\ufeff") {
      i++;
    } else {
      // A bare word: number, true/false/null, Infinity/NaN, or an unquoted key.
      const s = i;
      while (i < n && !/[\s{}[\]:,/"']/.test(text[i]!)) i++;
      if (i === s) throw new ConfigEditError(`unexpected character at offset ${i}`);
      toks.push({ t: "v", s, e: i });
    }
  }
  return toks;
}

// ---- spans

interface Member {
  key: string;
  /** Where the member's text starts (its key) and where its value ends. */
  start: number;
  value: Node;
  /** The comma after the value, when there is one. */
  comma: number | null;
}
interface Node {
  kind: "object" | "array" | "scalar";
  start: number;
  end: number;
  members: Member[];
  items: Array<{ value: Node; comma: number | null }>;
}

function keyText(text: string, tok: Tok): string {
  const raw = text.slice(tok.s, tok.e);
  return raw.startsWith('"') || raw.startsWith("'") ? (JSON5.parse(raw) as string) : raw;
}

function parseSpans(text: string): Node {
  const toks = tokenize(text);
  let p = 0;
  const expect = (t: string): Tok => {
    const tok = toks[p];
    if (!tok || tok.t !== t) throw new ConfigEditError(`expected ${t} at offset ${tok?.s ?? text.length}`);
    p++;
    return tok;
  };
  const value = (): Node => {
    const tok = toks[p];
    if (!tok) throw new ConfigEditError("unexpected end of file");
    if (tok.t === "v") {
      p++;
      // A signed number is one word already; nothing else spans tokens.
      return { kind: "scalar", start: tok.s, end: tok.e, members: [], items: [] };
    }
    if (tok.t === "{") {
      p++;
      const node: Node = { kind: "object", start: tok.s, end: 0, members: [], items: [] };
      while (toks[p] && toks[p]!.t !== "}") {
        const k = expect("v");
        expect(":");
        const v = value();
        const m: Member = { key: keyText(text, k), start: k.s, value: v, comma: null };
        if (toks[p]?.t === ",") m.comma = toks[p++]!.s;
        node.members.push(m);
        if (m.comma === null) break;
      }
      node.end = expect("}").e;
      return node;
    }
    if (tok.t === "[") {
      p++;
      const node: Node = { kind: "array", start: tok.s, end: 0, members: [], items: [] };
      while (toks[p] && toks[p]!.t !== "]") {
        const v = value();
        const item = { value: v, comma: null as number | null };
        if (toks[p]?.t === ",") item.comma = toks[p++]!.s;
        node.items.push(item);
        if (item.comma === null) break;
      }
      node.end = expect("]").e;
      return node;
    }
    throw new ConfigEditError(`unexpected ${tok.t} at offset ${tok.s}`);
  };
  const root = value();
  if (p !== toks.length) throw new ConfigEditError(`unexpected text after the config at offset ${toks[p]!.s}`);
  return root;
}

// ---- formatting

function lineStart(text: string, at: number): number {
  return text.lastIndexOf("\n", at - 1) + 1;
}
function indentAt(text: string, at: number): string {
  const ls = lineStart(text, at);
  return /^[ \t]*/.exec(text.slice(ls))![0];
}

interface Style {
  quoteKeys: boolean;
  quote: '"' | "'";
  unit: string;
}

function styleOf(text: string, root: Node): Style {
  let first: Member | undefined;
  const visit = (n: Node) => {
    if (first) return;
    if (n.members.length) first = n.members[0];
    else for (const it of n.items) visit(it.value);
  };
  visit(root);
  const keyRaw = first ? text[first.start] : '"';
  // The indentation step: the first member's indent minus its object's indent.
  let unit = "  ";
  if (first && text.slice(root.start, first.start).includes("\n")) {
    const inner = indentAt(text, first.start);
    const outer = indentAt(text, root.start);
    if (inner.length > outer.length) unit = inner.slice(outer.length);
  }
  return {
    quoteKeys: keyRaw === '"' || keyRaw === "'",
    quote: keyRaw === "'" ? "'" : '"',
    unit,
  };
}

function formatKey(key: string, style: Style): string {
  if (!style.quoteKeys && /^[A-Za-z_$][\w$]*$/.test(key)) return key;
  return style.quote === "'" ? JSON5.stringify(key, { quote: "'" }) : JSON.stringify(key);
}

/** A value as text at indentation `indent`, in the file's key style. */
function formatValue(value: unknown, indent: string, style: Style): string {
  const text = style.quoteKeys
    ? JSON.stringify(value, null, style.unit)
    : JSON5.stringify(value, { space: style.unit, quote: style.quote });
  if (text === undefined) throw new ConfigEditError("cannot write undefined");
  return text.replace(/\n/g, `\n${indent}`);
}

// ---- edits

function childOf(node: Node, seg: PathSegment): { node: Node; member?: Member; index?: number } | undefined {
  if (node.kind === "object" && typeof seg === "string") {
    // The last occurrence wins, as JSON5.parse reads duplicate keys.
    const m = [...node.members].reverse().find((x) => x.key === seg);
    return m ? { node: m.value, member: m } : undefined;
  }
  if (node.kind === "array" && typeof seg === "number") {
    const it = node.items[seg];
    return it ? { node: it.value, index: seg } : undefined;
  }
  return undefined;
}

function splice(text: string, start: number, end: number, insert: string): string {
  return text.slice(0, start) + insert + text.slice(end);
}

/** Builds `{ rest: value }` for the part of the path that does not exist yet. */
function nest(rest: PathSegment[], value: unknown): unknown {
  let v = value;
  for (let i = rest.length - 1; i >= 0; i--) {
    const seg = rest[i]!;
    if (typeof seg === "number") {
      if (seg !== 0) throw new ConfigEditError(`cannot create index [${seg}] in a new array`);
      v = [v];
    } else v = { [seg]: v };
  }
  return v;
}

/** Inserts `key: value` (or an array item) at the end of a container, in the container's layout. */
function appendTo(text: string, node: Node, key: string | null, value: unknown, style: Style): string {
  const entries = node.kind === "object" ? node.members : node.items;
  const closeAt = node.end - 1;
  const multiline = text.slice(node.start, node.end).includes("\n");
  const last = entries.at(-1);
  if (!multiline) {
    const one = formatValue(value, "", { ...style, unit: "" }).replace(/\n/g, " ");
    const entry = key === null ? one : `${formatKey(key, style)}: ${one}`;
    if (!last) return splice(text, node.start + 1, closeAt, node.kind === "object" ? ` ${entry} ` : entry);
    const after = last.comma !== null ? last.comma + 1 : last.value.end;
    return splice(text, after, after, `${last.comma !== null ? "" : ","} ${entry}`);
  }
  const indent = last
    ? indentAt(text, key === null ? last.value.start : (last as Member).start)
    : indentAt(text, node.start) + style.unit;
  const entry = `${key === null ? "" : `${formatKey(key, style)}: `}${formatValue(value, indent, style)}`;
  if (!last) {
    const closeIndent = indentAt(text, closeAt);
    const ls = lineStart(text, closeAt);
    // `{\n}`: the entry goes on its own line above the closing brace.
    if (text.slice(ls, closeAt).trim() === "") return splice(text, ls, ls, `${indent}${entry}\n`);
    return splice(text, closeAt, closeAt, `\n${indent}${entry}\n${closeIndent}`);
  }
  const trailing = last.comma !== null;
  // After the last entry and anything on its line (a trailing `// comment` stays with it).
  const from = trailing ? last.comma! + 1 : last.value.end;
  const eol = text.indexOf("\n", from);
  const lineEnd = eol < 0 ? closeAt : eol;
  const at = /^[ \t]*(\/\/.*|\/\*.*\*\/[ \t]*)?$/.test(text.slice(from, lineEnd)) ? lineEnd : from;
  let out = text;
  let shift = 0;
  if (!trailing) {
    out = splice(out, last.value.end, last.value.end, ",");
    shift = 1;
  }
  return splice(out, at + shift, at + shift, `\n${indent}${entry}${trailing ? "," : ""}`);
}

/** The text with the value at `path` set to `value` (parents created as needed). */
export function setInText(text: string, path: readonly PathSegment[], value: unknown): string {
  if (path.length === 0) throw new ConfigEditError("cannot replace the whole config");
  const source = text.trim() === "" ? "{}\n" : text;
  const root = parseSpans(source);
  const style = styleOf(source, root);
  let node = root;
  for (let i = 0; i < path.length; i++) {
    const seg = path[i]!;
    const child = childOf(node, seg);
    if (child) {
      if (i === path.length - 1)
        return splice(
          source,
          child.node.start,
          child.node.end,
          formatValue(value, indentAt(source, child.node.start), style),
        );
      node = child.node;
      continue;
    }
    if (node.kind === "object" && typeof seg === "string")
      return appendTo(source, node, seg, nest(path.slice(i + 1), value), style);
    if (node.kind === "array" && typeof seg === "number" && seg === node.items.length)
      return appendTo(source, node, null, nest(path.slice(i + 1), value), style);
    const where = path.slice(0, i).join(".") || "(root)";
    throw new ConfigEditError(
      `cannot set ${String(seg)} under ${where}: it is ${node.kind === "scalar" ? "not an object" : node.kind === "array" ? "an array (use an index up to its length)" : "an object (use a key)"}`,
    );
  }
  throw new ConfigEditError("unreachable");
}

/** The text without the value at `path`; null when there is none. */
export function unsetInText(text: string, path: readonly PathSegment[]): string | null {
  if (path.length === 0) throw new ConfigEditError("cannot remove the whole config");
  const root = parseSpans(text);
  let node = root;
  for (let i = 0; i < path.length - 1; i++) {
    const child = childOf(node, path[i]!);
    if (!child) return null;
    node = child.node;
  }
  const found = childOf(node, path.at(-1)!);
  if (!found) return null;
  const start = found.member ? found.member.start : found.node.start;
  const comma = found.member ? found.member.comma : node.items[found.index!]!.comma;
  let end = comma !== null ? comma + 1 : found.node.end;
  let from = start;
  // A member on lines of its own goes with its lines (and a comment at the end of its last line).
  const ls = lineStart(text, start);
  const eol = text.indexOf("\n", end);
  const rest = text.slice(end, eol < 0 ? text.length : eol);
  if (text.slice(ls, start).trim() === "" && /^\s*(\/\/.*)?$/.test(rest) && eol >= 0) {
    from = ls;
    end = eol + 1;
  } else if (comma !== null) {
    while (end < text.length && (text[end] === " " || text[end] === "\t")) end++;
  } else {
    while (from > 0 && (text[from - 1] === " " || text[from - 1] === "\t")) from--;
  }
  let out = splice(text, from, end, "");
  if (comma === null) {
    // It was the last entry: the comma before it (now trailing) is legal JSON5 but not the file's style.
    const entries = found.member ? node.members : node.items;
    const prev = entries.at(-2);
    if (prev && prev.comma !== null && entries.length >= 2) out = splice(out, prev.comma, prev.comma + 1, "");
  }
  // The container's only entry went: `{\n  }` becomes `{}` (unless a comment is left inside).
  const entries = found.member ? node.members : node.items;
  if (entries.length === 1) {
    const close = node.end - 1 - (end - from);
    if (out.slice(node.start + 1, close).trim() === "") out = splice(out, node.start + 1, close, "");
  }
  return out;
}

/** The value at `path` of a parsed config, or undefined. */
export function getAt(root: unknown, path: readonly PathSegment[]): unknown {
  let cur = root;
  for (const seg of path) {
    if (cur === null || typeof cur !== "object") return undefined;
    if (Array.isArray(cur) ? typeof seg !== "number" : typeof seg !== "string") return undefined;
    cur = (cur as Record<string, unknown>)[seg as string];
  }
  return cur;
}
