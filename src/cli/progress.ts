/** A progress bar on stderr, only when stderr is a terminal (never pollutes pipes or --json). */
import type { CliIO } from "./io.ts";

export function progressBar(io: CliIO, label: string, total: number): { update(done: number): void; done(): void } {
  if (!io.isErrTTY || total < 1000) return { update() {}, done() {} };
  let last = -1;
  const width = 30;
  const draw = (done: number): void => {
    const pct = Math.floor((100 * done) / total);
    if (pct === last) return;
    last = pct;
    const fill = Math.round((width * done) / total);
    process.stderr.write(`\r${label} [${"#".repeat(fill)}${"-".repeat(width - fill)}] ${pct}% (${done}/${total})`);
  };
  return {
    update: draw,
    done() {
      draw(total);
      process.stderr.write("\n");
    },
  };
}
