/** A database URL safe to print: its password (in the user part or a `password=` parameter) masked. */
export function maskUrl(url: string): string {
  try {
    const u = new URL(url);
    if (!u.password && !u.searchParams.has("password")) return url;
    if (u.password) u.password = "***";
    if (u.searchParams.has("password")) u.searchParams.set("password", "***");
    return u.toString();
  } catch {
    return url.replace(/:[^:@/]*@/, ":***@").replace(/password=[^&\s]*/gi, "password=***");
  }
}
