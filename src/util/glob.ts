/**
 * The one glob form the config uses for names (tool names, agent ids): case-insensitive, `*`
 * matches any run of characters, nothing else is special. Compiled patterns are cached.
 */
const compiled = new Map<string, (value: string) => boolean>();

export function compileGlob(pattern: string): (value: string) => boolean {
  const p = pattern.trim().toLowerCase();
  let m = compiled.get(p);
  if (!m) {
    if (p === "*") m = () => true;
    else if (!p.includes("*")) m = (v) => v.trim().toLowerCase() === p;
    else {
      const re = new RegExp(
        `^${p
          .split("*")
          .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
          .join(".*")}$`,
        "s",
      );
      m = (v) => re.test(v.trim().toLowerCase());
    }
    if (compiled.size > 1000) compiled.clear();
    compiled.set(p, m);
  }
  return m;
}

export function globMatch(pattern: string, value: string): boolean {
  return compileGlob(pattern)(value);
}
