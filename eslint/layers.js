/**
 * The layer rules of ARCHITECTURE.md ("Who may import whom") as data, checked by the local lint
 * rule `pincer/layers` below: an import from one folder of src/ into another must be listed for
 * the importing folder; `types: true` admits type-only imports (`import type`) and nothing else.
 * Keep this table and the one in ARCHITECTURE.md the same.
 */
import * as path from "node:path";

/** Modules any layer may import: leaves that import nothing of Pincer. */
const LEAVES = ["util", "errors.ts", "version.ts"];

/** importing folder → what it may import (a folder, or a file inside one). */
export const LAYERS = {
  cli: "*",
  "index.ts": "*",
  gateway: [
    "channels",
    "tools",
    "runtime",
    "session",
    "providers",
    "keys",
    "config",
    "lifecycle",
    "transcript",
    "store",
    "web",
    "workspace",
    "security",
  ],
  security: ["config", "gateway/settings.ts", "keys", { path: "store", types: true }],
  channels: ["runtime", "session", "keys", "config", "store", { path: "transcript", types: true }, "lifecycle"],
  tools: [
    "runtime",
    { path: "session", types: true },
    "keys",
    "transcript",
    { path: "store", types: true },
    { path: "config", types: true },
    "workspace",
  ],
  runtime: [
    "session",
    "providers",
    "context",
    "policy",
    "keys",
    { path: "transcript", types: true },
    { path: "store", types: true },
    "config",
    "workspace",
  ],
  workspace: [{ path: "config", types: true }],
  providers: ["transcript/entries.ts", { path: "config", types: true }],
  context: ["transcript/entries.ts", "store/entry.ts", "keys", { path: "config", types: true }],
  policy: ["transcript/entries.ts", "store/entry.ts", "keys", { path: "config", types: true }],
  session: ["keys", "lifecycle", "transcript", "maintenance", "store", "config"],
  maintenance: [
    { path: "store", types: true },
    { path: "config/maintenance-settings.ts", types: true },
  ],
  transcript: [{ path: "store", types: true }],
  lifecycle: [{ path: "store/entry.ts", types: true }],
  keys: [],
  store: ["keys/ids.ts", "config/backends.ts", "config"],
  config: ["keys"],
  util: [],
  web: [{ path: "gateway/protocol.ts", types: true }],
};

const SRC = path.resolve(import.meta.dirname, "..", "src");

/** The layer of a file under src/ (its first folder, or the file itself at the top). */
function layerOf(file) {
  const rel = path.relative(SRC, file);
  if (rel.startsWith("..")) return null;
  return rel.split(path.sep)[0];
}

function allowed(fromLayer, target, typeOnly) {
  const rel = path.relative(SRC, target).split(path.sep).join("/");
  const toLayer = rel.split("/")[0];
  if (toLayer === fromLayer) return true;
  if (LEAVES.includes(toLayer)) return true;
  const rules = LAYERS[fromLayer];
  if (rules === "*") return true;
  if (!rules) return false;
  return rules.some((r) => {
    const rule = typeof r === "string" ? { path: r, types: false } : r;
    const hit = rel === rule.path || rel.startsWith(rule.path + "/");
    return hit && (!rule.types || typeOnly);
  });
}

const rule = {
  meta: { type: "problem", docs: { description: "imports follow the layer table of ARCHITECTURE.md" }, schema: [] },
  create(context) {
    const file = context.filename;
    const fromLayer = layerOf(file);
    if (!fromLayer) return {};
    const check = (node, source, typeOnly) => {
      if (typeof source !== "string" || !source.startsWith(".")) return;
      const target = path.resolve(path.dirname(file), source);
      if (layerOf(target) === null) return;
      if (!allowed(fromLayer, target, typeOnly)) {
        const shown = path.relative(SRC, target).split(path.sep).join("/");
        context.report({
          node,
          message: `${fromLayer}/ may not import ${typeOnly ? "" : "values from "}src/${shown} (ARCHITECTURE.md, "Who may import whom")`,
        });
      }
    };
    return {
      ImportDeclaration(node) {
        const typeOnly =
          node.importKind === "type" ||
          (node.specifiers.length > 0 && node.specifiers.every((s) => s.importKind === "type"));
        check(node, node.source.value, typeOnly);
      },
      ExportNamedDeclaration(node) {
        if (node.source) check(node, node.source.value, node.exportKind === "type");
      },
      ExportAllDeclaration(node) {
        check(node, node.source.value, node.exportKind === "type");
      },
      ImportExpression(node) {
        if (node.source.type === "Literal") check(node, node.source.value, false);
      },
    };
  },
};

export const layersPlugin = { rules: { layers: rule } };
