/**
 * What a backend hands the conformance kit: how to open a fresh store and a second writer on it,
 * how to clean up, which cases it skips and why, and the hooks for cases only some backends can
 * run (a stored schema version, a server that can be unreachable). Test-only: imports vitest and
 * must never be imported by production code.
 */
import { afterEach, beforeEach } from "vitest";
import type { SessionEntry } from "../entry.ts";
import type { SessionStore } from "../types.ts";

export interface StoreHarness {
  /** Shown in every case's title. */
  name: string;
  /**
   * Opens an instance on a fresh store, isolated from every store made before (its own directory,
   * database or scope). `now` drives lease expiry.
   */
  create(now: () => number): Promise<SessionStore>;
  /** Opens another writer on the store `create` made last, as another process would. */
  another(now: () => number): Promise<SessionStore>;
  /** Frees what `create` and `another` made (instances the case left open, files, databases). */
  dispose(): Promise<void>;
  /** Whether a store reopened after `close` still holds everything (default true). */
  durable?: boolean;
  /** Cases this backend does not run, each group with the reason (listed in the test output). */
  skip?: ReadonlyArray<{ reason: string; cases: readonly CaseName[] }>;
  /** The store keeps a schema version: how to make it look newer than this Pincer, and back. */
  schemaVersion?: {
    /** Makes the store `create` made last claim schema version `version`. */
    write(version: number): Promise<void>;
    restore(): Promise<void>;
    /** What the refusal must say beyond the version and the migrate command. */
    message?: RegExp;
    /** Text the refusal must not show (a database name, a password). */
    hidden?: string;
  };
  /** The backend talks to a server: how to open one where nothing listens. */
  unreachable?: {
    open(): Promise<SessionStore>;
    /** Host and port the error must name. */
    address: string;
    /** A password in the URL that must never appear in the error. */
    secret: string;
    /** How long `open` keeps trying (the configured connect timeout), ms. */
    timeoutMs: number;
    message?: RegExp;
  };
}

/** Every case of the kit, by capability. */
export const CASES = {
  rows: ["round trip", "mutator contract", "copies", "concurrent patches", "putMany"],
  list: ["order, filters and pages"],
  transcripts: ["append and tail", "unsafe ids"],
  appendAndPatch: ["append and patch"],
  archive: ["archive name"],
  twoWriters: ["two writers on one row", "two writers inserting one row"],
  leases: ["fencing and takeover", "renewal", "waiting out a release"],
  migration: ["export and import", "durable reopen"],
  events: ["events"],
  schemaVersion: ["newer schema refused"],
  unreachable: ["unreachable server"],
} as const;

export type CaseName = (typeof CASES)[keyof typeof CASES][number];

/** Why the harness skips `name`, or null when the case runs. */
export function skipReason(h: StoreHarness, name: CaseName): string | null {
  return h.skip?.find((s) => s.cases.includes(name))?.reason ?? null;
}

export const START_CLOCK = 1_800_000_000_000;

export const entry = (sessionId: string, updatedAt: number, extra: Partial<SessionEntry> = {}): SessionEntry => ({
  sessionId,
  updatedAt,
  ...extra,
});

/** A counter bump: the read-modify-write every concurrency case races. */
export const bump = (s: SessionStore, key = "counter"): Promise<unknown> =>
  s.patch(key, (cur) => ({ ...(cur ?? entry("s", 0)), inputTokens: (cur?.inputTokens ?? 0) + 1 }));

/** Per case: a fresh store from `create` on a controllable clock, closed and disposed afterwards. */
export interface Fixture {
  readonly store: SessionStore;
  /** The clock every instance of the case reads. */
  clock: number;
  readonly now: () => number;
  /** Replaces the case's store (after it closed it), so teardown closes the new one. */
  reopen(next: SessionStore): void;
}

export function useFixture(h: StoreHarness): Fixture {
  let store: SessionStore | null = null;
  const fixture: Fixture = {
    get store(): SessionStore {
      if (!store) throw new Error(`${h.name}: the store is opened in beforeEach; use it inside a case`);
      return store;
    },
    clock: START_CLOCK,
    now: () => fixture.clock,
    reopen(next) {
      store = next;
    },
  };
  beforeEach(async () => {
    fixture.clock = START_CLOCK;
    store = await h.create(fixture.now);
  });
  afterEach(async () => {
    await store?.close();
    store = null;
    await h.dispose();
  });
  return fixture;
}
