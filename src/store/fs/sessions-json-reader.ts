/**
 * Reads the rows of a Pincer-written `sessions.json` (`JSON.stringify(store, null, 2)`) without
 * materialising them: only the asked-for top-level fields of each row are picked out, as the JSON
 * text they were written as. Four times cheaper than `JSON.parse` at 100 000 rows, and nothing of a
 * row the caller does not ask for (origins, delivery contexts, paths) is ever allocated.
 *
 * It relies on what `JSON.stringify(…, null, 2)` guarantees: a string never holds a raw newline, so
 * every newline is structural and the indentation after it is the depth — a row's key line is
 * `\n  "<key>": `, its fields are `\n    "<name>": `, anything nested is indented further. Only use
 * it on a file known to be written that way (the snapshot meta matches it byte for byte).
 */

/** One row: its key and, by index in the asked-for field list, each field's JSON text (undefined: absent). */
export interface RawRow {
  /** The key's JSON text as written (`JSON.stringify(key)`). */
  keyJson: string;
  key: string;
  /**
   * Each field's value as written nested at a row's depth: scalars as `JSON.stringify(value)`,
   * multi-line objects and arrays with their lines indented by four spaces beyond the first.
   */
  values: Array<string | undefined>;
}

/** A row whose value is not an object with fields (a scalar, an array, `{}`): parsed whole, for the caller to judge. */
export interface OddRow {
  key: string;
  value: unknown;
}

const FIELD_NAME = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** A scanner for one set of fields: build once, use for every batch. */
export class RowScanner {
  readonly fields: readonly string[];
  private readonly re: RegExp;
  /** Field indexes by name length and first character: told apart without allocating the name. */
  private readonly buckets = new Map<number, Array<[name: string, index: number]>>();

  constructor(fields: readonly string[]) {
    for (const f of fields) if (!FIELD_NAME.test(f)) throw new Error(`not a plain field name: ${f}`);
    this.fields = fields;
    fields.forEach((f, i) => {
      const b = bucketOf(f.length, f.charCodeAt(0));
      const list = this.buckets.get(b) ?? [];
      list.push([f, i]);
      this.buckets.set(b, list);
    });
    // A row's key line or one of the fields' lines; used with `test` (no match object is built):
    // where the match ends is all it takes to find what it matched.
    this.re = new RegExp(`\\n  (?:"(?:[^"\\\\\\n]|\\\\.)*"|  "(?:${fields.join("|")})"): `, "g");
  }

  /**
   * Calls `onRow` for each row of `text`: complete rows as they appear between the file's braces,
   * each starting at the newline before its key line (a separating comma before it is fine).
   */
  scan(text: string, onRow: (row: RawRow) => void, onOdd: (row: OddRow) => void): void {
    const re = this.re;
    re.lastIndex = 0;
    const width = this.fields.length;
    let row: RawRow | null = null;
    while (re.test(text)) {
      const start = re.lastIndex; // the value's first character
      const line = text.lastIndexOf("\n", start - 1);
      if (text.charCodeAt(line + 3) === 0x22 /* " : a key line */) {
        if (row) onRow(row);
        row = null;
        const keyJson = text.slice(line + 3, start - 2);
        const key = keyJson.includes("\\") ? (JSON.parse(keyJson) as string) : keyJson.slice(1, -1);
        if (text.charCodeAt(start) === 0x7b /* { */ && text.charCodeAt(start + 1) === 0x0a) {
          row = { keyJson, key, values: new Array<string | undefined>(width).fill(undefined) };
          continue;
        }
        // Not an object with fields: the value runs to its closing bracket at the row's depth, or to the line's end.
        const opener = text.charCodeAt(start);
        const multiLine = (opener === 0x5b /* [ */ || opener === 0x7b) && text.charCodeAt(start + 1) === 0x0a;
        const end = multiLine ? text.indexOf(opener === 0x5b ? "\n  ]" : "\n  }", start) + 4 : lineEnd(text, start);
        onOdd({ key, value: JSON.parse(stripComma(text.slice(start, end))) });
        re.lastIndex = end;
        continue;
      }
      if (!row) continue; // a field line outside a row cannot occur in a well-formed batch
      const at = this.fieldAt(text, line + 6, start - 3 - (line + 6));
      const opener = text.charCodeAt(start);
      let end: number;
      if ((opener === 0x7b || opener === 0x5b) && text.charCodeAt(start + 1) === 0x0a) {
        end = text.indexOf(opener === 0x7b ? "\n    }" : "\n    ]", start) + 6;
        re.lastIndex = end; // nested lines cannot match, but there is no need to look at them
      } else {
        end = lineEnd(text, start);
        if (text.charCodeAt(end - 1) === 0x2c /* , */) end--;
      }
      row.values[at] = text.slice(start, end);
    }
    if (row) onRow(row);
  }

  /** The index of the field whose name is `text[from, from + length)` (the regex matched one of them). */
  private fieldAt(text: string, from: number, length: number): number {
    const list = this.buckets.get(bucketOf(length, text.charCodeAt(from)))!;
    if (list.length === 1) return list[0]![1];
    for (const [name, index] of list) if (text.startsWith(name, from)) return index;
    throw new Error("unreachable: the regex matched a field name");
  }
}

function bucketOf(length: number, firstChar: number): number {
  return length * 0x10000 + firstChar;
}

function lineEnd(text: string, from: number): number {
  const nl = text.indexOf("\n", from);
  return nl < 0 ? text.length : nl;
}

function stripComma(s: string): string {
  return s.charCodeAt(s.length - 1) === 0x2c /* , */ ? s.slice(0, -1) : s;
}

/** A raw value is a JSON number (what `typeof JSON.parse(raw) === "number"` says, without parsing). */
export function isRawNumber(raw: string | undefined): raw is string {
  if (raw === undefined) return false;
  const c = raw.charCodeAt(0);
  return c === 0x2d /* - */ || (c >= 0x30 && c <= 0x39);
}

/** JavaScript truthiness of the parsed value: JSON's falsy values are `false`, `0`, `""` and `null`. */
export function isRawTruthy(raw: string | undefined): raw is string {
  return raw !== undefined && raw !== "false" && raw !== "0" && raw !== '""' && raw !== "null" && raw !== "-0";
}

/** A raw value is an object or an array (`typeof v === "object" && v !== null`). */
export function isRawObject(raw: string | undefined): raw is string {
  if (raw === undefined) return false;
  const c = raw.charCodeAt(0);
  return c === 0x7b || c === 0x5b;
}

/** The string a raw JSON string holds (no parse for the common case without escapes); undefined if not a string. */
export function rawString(raw: string | undefined): string | undefined {
  if (raw === undefined || raw.charCodeAt(0) !== 0x22) return undefined;
  return raw.includes("\\") ? (JSON.parse(raw) as string) : raw.slice(1, -1);
}

/** The parsed value (undefined stays undefined). */
export function rawValue(raw: string | undefined): unknown {
  return raw === undefined ? undefined : JSON.parse(raw);
}
