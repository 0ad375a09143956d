/** The queue of events waiting to ride along with a shared store's next write (src/store/ride-along.ts). */
import { describe, expect, it } from "vitest";
import { RideAlongQueue, type Rider } from "../src/store/ride-along.ts";

describe("RideAlongQueue", () => {
  it("hands a write every waiting event in order; what it did not carry goes back in front", async () => {
    const alone: string[][] = [];
    const q = new RideAlongQueue(async (riders) => {
      alone.push(riders.map((r) => r.text));
      for (const r of riders) r.sent();
    }, 60_000);
    const a = q.add("a");
    const b = q.add("b");
    const taken = q.take();
    expect(taken.map((r) => r.text)).toEqual(["a", "b"]);
    const c = q.add("c");
    q.putBack(taken);
    const all = q.take();
    expect(all.map((r: Rider) => r.text)).toEqual(["a", "b", "c"]);
    expect(alone).toEqual([]);
    // The write that carried them settles them.
    for (const r of all) r.sent();
    await expect(Promise.all([a, b, c])).resolves.toEqual([undefined, undefined, undefined]);
  });

  it("sends what no write took by itself after the wait, once, and on flush", async () => {
    const alone: string[][] = [];
    const q = new RideAlongQueue(async (riders) => {
      alone.push(riders.map((r) => r.text));
      for (const r of riders) r.failed(new Error("down"));
    }, 5);
    const x = q.add("x");
    const y = q.add("y");
    await expect(x).rejects.toThrow("down");
    await expect(y).rejects.toThrow("down");
    expect(alone).toEqual([["x", "y"]]);
    const z = q.add("z");
    await q.flush();
    await expect(z).rejects.toThrow("down");
    expect(alone).toEqual([["x", "y"], ["z"]]);
    await q.flush();
    expect(alone).toHaveLength(2);
  });
});
