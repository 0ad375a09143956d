/**
 * `pincer config get|set|unset`: edits in place in a commented JSON5 file (every byte outside the
 * edited value kept), values read as OpenClaw's `config set` reads them, the result validated
 * before anything is written, atomic replace with the file's mode kept; and OpenClaw's own audit
 * remediation line run with `pincer` instead of `openclaw`.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import JSON5 from "json5";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { parseCliValue, parseConfigPath, setInText, unsetInText } from "../src/config/json5-edit.ts";

const BIN = path.resolve(import.meta.dirname, "../bin/pincer.js");
const homes: string[] = [];
afterEach(() => {
  for (const h of homes.splice(0)) fs.rmSync(h, { recursive: true, force: true });
});

const COMMENTED = `// Pincer config — hand-written
{
  /* sessions */
  session: {
    dmScope: "main", // everyone shares one DM session
    reset: { mode: "daily", atHour: 4 },
  },

  // the gateway
  gateway: {
    port: 18789,
    auth: { token: "test-operator-token-0123456789" },
  },
  'agents': {
    defaults: {
      model: "echo/echo"
    }
  }
}
`;

function cli(home: string, ...args: string[]) {
  return spawnSync(process.execPath, [BIN, ...args], {
    env: { ...process.env, PINCER_HOME: home, PINCER_CONFIG: "", PINCER_GATEWAY_TOKEN: "" },
    encoding: "utf8",
  });
}
function homeWith(name: string, text: string, mode = 0o600): { home: string; file: string } {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "pincer-config-edit-"));
  homes.push(home);
  const file = path.join(home, name);
  fs.writeFileSync(file, text);
  fs.chmodSync(file, mode);
  return { home, file };
}

describe("the in-place JSON5 editor", () => {
  it("replaces one value and keeps every comment, blank line and quote style", () => {
    const out = setInText(COMMENTED, parseConfigPath("session.dmScope"), "per-channel-peer");
    expect(out).toBe(COMMENTED.replace('dmScope: "main"', 'dmScope: "per-channel-peer"'));
    const port = setInText(COMMENTED, parseConfigPath("gateway.port"), 19000);
    expect(port).toBe(COMMENTED.replace("port: 18789", "port: 19000"));
  });

  it("inserts a key in the object's layout (multi-line, single-line, trailing comma or not) and creates parents", () => {
    const a = setInText(COMMENTED, ["session", "mainKey"], "work");
    expect(a).toContain('    reset: { mode: "daily", atHour: 4 },\n    mainKey: "work",\n  },');
    const b = setInText(COMMENTED, ["session", "reset", "idleMinutes"], 60);
    expect(b).toContain('reset: { mode: "daily", atHour: 4, idleMinutes: 60 },');
    const c = setInText(COMMENTED, ["agents", "defaults", "contextTokens"], 1000);
    expect(c).toContain('      model: "echo/echo",\n      contextTokens: 1000\n    }');
    const d = setInText(COMMENTED, parseConfigPath("hooks.endpoints"), []);
    expect(JSON5.parse(d)).toMatchObject({ hooks: { endpoints: [] } });
    for (const text of [a, b, c, d]) {
      expect(text).toContain("// everyone shares one DM session");
      expect(text).toContain("/* sessions */");
    }
    const json = '{\n    "a": {\n        "b": 1\n    }\n}\n';
    expect(setInText(json, ["a", "c"], { d: [1, "x"] })).toBe(
      '{\n    "a": {\n        "b": 1,\n        "c": {\n            "d": [\n                1,\n                "x"\n            ]\n        }\n    }\n}\n',
    );
    expect(JSON5.parse(setInText("", ["x", "y"], true))).toEqual({ x: { y: true } });
  });

  it("removes a key with its line and comment, and the comma its removal would leave dangling", () => {
    const a = unsetInText(COMMENTED, ["session", "dmScope"])!;
    expect(a).not.toContain("dmScope");
    expect(a).not.toContain("everyone shares");
    expect(a).toContain("/* sessions */");
    const b = unsetInText(COMMENTED, ["agents", "defaults", "model"])!;
    expect(JSON5.parse(b)).toMatchObject({ agents: { defaults: {} } });
    const c = unsetInText('{ "a": 1, "b": 2 }', ["b"])!;
    expect(c).toBe('{ "a": 1 }');
    // The only entry gone: an empty container, unless a comment is left in it.
    expect(unsetInText('{\n  "tools": {\n    "profile": "coding"\n  },\n  "x": 1\n}\n', ["tools", "profile"])).toBe(
      '{\n  "tools": {},\n  "x": 1\n}\n',
    );
    expect(unsetInText("{\n  a: {\n    // keep me\n    b: 1,\n  },\n}", ["a", "b"])).toBe(
      "{\n  a: {\n    // keep me\n  },\n}",
    );
    expect(unsetInText(COMMENTED, ["nope"])).toBeNull();
    expect(unsetInText(COMMENTED, ["session", "dmScope", "deeper"])).toBeNull();
  });

  it("strings with braces, quotes, slashes and comment markers never confuse it", () => {
    const tricky = `{
  a: "} // not a comment { [",
  'b': 'it\\'s /* not */ either',
  c: "http://x/y", // a real comment
  d: [1, 2, { e: "]" }],
}`;
    const out = setInText(tricky, ["d", 2, "e"], "[");
    expect(JSON5.parse(out)).toEqual({
      a: "} // not a comment { [",
      b: "it's /* not */ either",
      c: "http://x/y",
      d: [1, 2, { e: "[" }],
    });
    expect(JSON5.parse(setInText(tricky, ["d", 3], 4)).d).toEqual([1, 2, { e: "]" }, 4]);
    expect(() => setInText(tricky, ["d", 9], 1)).toThrow(/an array/);
    expect(() => setInText(tricky, ["a", "x"], 1)).toThrow(/not an object/);
  });

  it("any set then get round-trips, and the rest of the parsed file is unchanged (property)", () => {
    const seg = fc.constantFrom("session", "gateway", "x", "y-z", "a.b", "k");
    const val = fc.oneof(
      fc.string(),
      fc.integer(),
      fc.boolean(),
      fc.constant(null),
      fc.array(fc.integer(), { maxLength: 3 }),
    );
    let edited = 0;
    fc.assert(
      fc.property(fc.array(seg, { minLength: 1, maxLength: 3 }), val, (p, v) => {
        const base = JSON5.parse(COMMENTED) as Record<string, unknown>;
        let out: string;
        try {
          out = setInText(COMMENTED, p, v);
        } catch {
          return true; // a path through a scalar (session.dmScope.x): refused, nothing to check
        }
        const parsed = JSON5.parse(out) as Record<string, unknown>;
        let cur: unknown = parsed;
        for (const k of p) cur = (cur as Record<string, unknown>)[k];
        expect(cur).toEqual(v);
        // Everything outside the path is what it was.
        const strip = (o: Record<string, unknown>) => {
          const c = structuredClone(o);
          let parent: Record<string, unknown> = c;
          for (const k of p.slice(0, -1)) parent = (parent[k] ?? {}) as Record<string, unknown>;
          delete parent[p.at(-1)!];
          return c;
        };
        const pruneEmpty = (o: unknown): unknown =>
          o && typeof o === "object" && !Array.isArray(o)
            ? Object.fromEntries(
                Object.entries(o)
                  .map(([k, x]) => [k, pruneEmpty(x)])
                  .filter(([, x]) => !(x && typeof x === "object" && !Array.isArray(x) && Object.keys(x).length === 0)),
              )
            : o;
        expect(pruneEmpty(strip(parsed))).toEqual(pruneEmpty(strip(base)));
        // Comments outside the replaced value stay (one inside a replaced object goes with it).
        expect(out).toContain("/* sessions */");
        expect(out).toContain("// the gateway");
        expect(out.startsWith("// Pincer config — hand-written\n")).toBe(true);
        edited++;
        return true;
      }),
      { numRuns: 200 },
    );
    // Most generated paths are editable; the refused ones go through a scalar.
    expect(edited).toBeGreaterThan(100);
  });

  it("values as OpenClaw's config set reads them: JSON5 literals, else the raw string; paths with brackets", () => {
    expect(parseCliValue("per-channel-peer")).toBe("per-channel-peer");
    expect(parseCliValue('"per-channel-peer"')).toBe("per-channel-peer");
    expect(parseCliValue("42")).toBe(42);
    expect(parseCliValue("true")).toBe(true);
    expect(parseCliValue("{ a: [1] }")).toEqual({ a: [1] });
    expect(() => parseCliValue("per-peer", true)).toThrow(/not a JSON5 value/);
    expect(parseConfigPath('bindings[0].match["peer"].id')).toEqual(["bindings", 0, "match", "peer", "id"]);
    expect(parseConfigPath('agents.defaults.models["anthropic/claude-opus-4-6"].alias')).toEqual([
      "agents",
      "defaults",
      "models",
      "anthropic/claude-opus-4-6",
      "alias",
    ]);
  });
});

describe("pincer config get|set|unset", () => {
  it("OpenClaw's remediation line works with pincer: the file keeps its comments and its 0600 mode", () => {
    const { home, file } = homeWith("openclaw.json", COMMENTED);
    // As a shell passes `openclaw config set session.dmScope "per-channel-peer"`: the quotes are gone.
    const r = cli(home, "config", "set", "session.dmScope", "per-channel-peer");
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("Updated session.dmScope");
    expect(fs.readFileSync(file, "utf8")).toBe(COMMENTED.replace('dmScope: "main"', 'dmScope: "per-channel-peer"'));
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(cli(home, "config", "get", "session.dmScope").stdout.trim()).toBe("per-channel-peer");
    // No temp file is left behind.
    expect(fs.readdirSync(home)).toEqual(["openclaw.json"]);
  });

  it("a value the schema refuses is not written (the file is byte-identical), with the key, value and expectation", () => {
    const { home, file } = homeWith("pincer.json", COMMENTED, 0o640);
    const r = cli(home, "config", "set", "session.dmScope", "per-everyone");
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('session.dmScope: got "per-everyone", expected one of "main", "per-peer"');
    expect(r.stderr).toContain("not written");
    expect(fs.readFileSync(file, "utf8")).toBe(COMMENTED);
    const typo = cli(home, "config", "set", "gateway.prot", "1");
    expect(typo.status).toBe(1);
    expect(typo.stderr).toContain('did you mean "port"?');
    // A mode the user chose is kept on a successful write.
    expect(cli(home, "config", "set", "gateway.port", "19001").status).toBe(0);
    expect(fs.statSync(file).mode & 0o777).toBe(0o640);
    expect(JSON5.parse(fs.readFileSync(file, "utf8"))).toMatchObject({ gateway: { port: 19001 } });
  });

  it("get redacts secrets and says when a path is missing; unset removes; a missing file is created 0600", () => {
    const { home, file } = homeWith("pincer.json", COMMENTED);
    const auth = cli(home, "config", "get", "gateway.auth");
    expect(JSON.parse(auth.stdout)).toEqual({ token: "__PINCER_REDACTED__" });
    const missing = cli(home, "config", "get", "session.mainKey");
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain("Config path not found: session.mainKey");
    expect(cli(home, "config", "unset", "session.reset").status).toBe(0);
    expect(fs.readFileSync(file, "utf8")).not.toContain("reset");
    expect(fs.readFileSync(file, "utf8")).toContain("// everyone shares one DM session");
    expect(cli(home, "config", "unset", "session.reset").status).toBe(1);

    const empty = fs.mkdtempSync(path.join(os.tmpdir(), "pincer-config-edit-"));
    homes.push(empty);
    expect(cli(empty, "config", "set", "session.dmScope", "per-peer").status).toBe(0);
    const created = path.join(empty, "pincer.json");
    expect(JSON5.parse(fs.readFileSync(created, "utf8"))).toEqual({ session: { dmScope: "per-peer" } });
    expect(fs.statSync(created).mode & 0o777).toBe(0o600);
    expect(cli(empty, "config", "file").stdout.trim()).toBe(created);
  });
});
