/**
 * InboundDedupe on a real directory: first claim true, redelivery false (also across a reopen and
 * while the first claim is still syncing), per-account bounds by count and age, release, torn line.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { InboundDedupe } from "../../src/channels/inbound-dedupe.ts";
import { tmpDir } from "./delivery-fakes.ts";

describe("InboundDedupe", () => {
  it("claims a message id once, and still knows it after a restart", async () => {
    const dir = path.join(tmpDir(), "channels");
    const d = new InboundDedupe({ dir });
    await d.open();
    expect(await d.claim("slack", "default", "C1", "1700000000.000100")).toBe(true);
    expect(await d.claim("slack", "default", "C1", "1700000000.000100")).toBe(false);
    // Same id elsewhere is another message.
    expect(await d.claim("slack", "default", "C2", "1700000000.000100")).toBe(true);
    expect(await d.claim("slack", "work", "C1", "1700000000.000100")).toBe(true);
    expect(await d.claim("telegram", "default", "C1", "1700000000.000100")).toBe(true);
    // Abandoned without close (a crash right after claim resolved): the claim was synced.
    const again = new InboundDedupe({ dir });
    await again.open();
    expect(await again.claim("slack", "default", "C1", "1700000000.000100")).toBe(false);
    expect(await again.claim("telegram", "default", "C1", "1700000000.000100")).toBe(false);
    expect(await again.claim("telegram", "default", "C1", "other")).toBe(true);
    expect(fs.statSync(path.join(dir, "inbound-seen.jsonl")).mode & 0o777).toBe(0o600);
    expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
    await again.close();
    await d.close();
  });

  it("answers a concurrent redelivery (Slack retry_attempt) as a duplicate: exactly one claim wins", async () => {
    const d = new InboundDedupe({ dir: tmpDir() });
    await d.open();
    const results = await Promise.all(Array.from({ length: 10 }, () => d.claim("slack", "a", "C", "ts1")));
    expect(results.filter(Boolean)).toHaveLength(1);
    await d.close();
  });

  it("is bounded per account by count and by age", async () => {
    let clock = 1_000;
    const dir = tmpDir();
    const d = new InboundDedupe({ dir, now: () => clock, maxPerAccount: 100, ttlMs: 60_000 });
    await d.open();
    for (let i = 0; i < 250; i++) expect(await d.claim("telegram", "bot", "42", String(i))).toBe(true);
    expect(d.size()).toBe(100);
    expect(await d.claim("telegram", "bot", "42", "249")).toBe(false); // recent: remembered
    expect(await d.claim("telegram", "bot", "42", "0")).toBe(true); // evicted by count
    clock += 61_000;
    expect(await d.claim("telegram", "bot", "42", "249")).toBe(true); // evicted by age
    await d.close();
    const again = new InboundDedupe({ dir, now: () => clock, maxPerAccount: 100, ttlMs: 60_000 });
    await again.open();
    expect(again.size()).toBe(1); // only the claim younger than ttl
    expect(await again.claim("telegram", "bot", "42", "249")).toBe(false);
    await again.close();
  });

  it("compacts its file and keeps what it remembers", async () => {
    const dir = tmpDir();
    const d = new InboundDedupe({ dir, maxPerAccount: 20, compactAfter: 40 });
    await d.open();
    // Concurrent batches (group-committed), each awaited so the compaction trigger runs between them.
    for (let b = 0; b < 10; b++) {
      await Promise.all(Array.from({ length: 20 }, (_, i) => d.claim("discord", "bot", "chan", `m${b * 20 + i}`)));
    }
    await d.close();
    const lines = fs.readFileSync(d.file, "utf8").split("\n").filter(Boolean).length;
    expect(lines).toBeLessThan(100); // 200 claims were written
    const again = new InboundDedupe({ dir, maxPerAccount: 20 });
    await again.open();
    expect(await again.claim("discord", "bot", "chan", "m199")).toBe(false);
    expect(again.size()).toBe(20);
    await again.close();
  });

  it("release() lets the platform's redelivery through (the message could not be stored)", async () => {
    const dir = tmpDir();
    const d = new InboundDedupe({ dir });
    await d.open();
    expect(await d.claim("signal", "+15550001", "+15550002", "1700")).toBe(true);
    await d.release("signal", "+15550001", "+15550002", "1700");
    const again = new InboundDedupe({ dir });
    await again.open();
    expect(await again.claim("signal", "+15550001", "+15550002", "1700")).toBe(true);
    await again.close();
    await d.close();
  });

  it("skips a torn last line and counts it", async () => {
    const dir = tmpDir();
    const d = new InboundDedupe({ dir });
    await d.open();
    await d.claim("telegram", "default", "1", "10");
    await d.close();
    fs.appendFileSync(d.file, '{"c":"telegram","a":"def');
    const again = new InboundDedupe({ dir });
    await again.open();
    expect(again.badLines).toBe(1);
    expect(await again.claim("telegram", "default", "1", "10")).toBe(false);
    expect(await again.claim("telegram", "default", "1", "11")).toBe(true);
    await again.close();
  });
});
