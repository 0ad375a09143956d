/**
 * One gateway per fs home and per fs store directory. Two gateways writing the same transcripts
 * fork their `parentId` chains, so the second one is refused at start. The home is not enough:
 * `session.store` can point outside it, so two homes can share one store; each sessions directory
 * the gateway will write is locked too.
 *
 * A lock is a liveness endpoint (liveness.ts): a socket file inside the private directory being
 * locked, which the kernel stops answering when the gateway dies, so a restart after a crash takes
 * it at once (the dead socket file is moved away), and the refusal names the running process
 * because that process answers who it is.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import type { Server } from "node:net";
import { PincerError } from "../../errors.ts";
import { listenExclusive, lockSocketAddress, probe, type EndpointInfo } from "./liveness.ts";

export type LockedDirKind = "home" | "store";

export class HomeInUseError extends PincerError {
  override readonly code = "home_in_use";
  override readonly httpStatus = 409;
  readonly kind: LockedDirKind;
  /** The real path of the home or store directory. */
  readonly home: string;
  readonly holder: EndpointInfo | null;

  constructor(home: string, holder: EndpointInfo | null, kind: LockedDirKind = "home") {
    const who = holder
      ? `pid ${holder.pid} on ${holder.host}, started ${holder.startedAt}${holder.version ? `, pincer ${holder.version}` : ""}${holder.port ? `, port ${holder.port}` : ""}${kind === "store" && holder.home ? `, home ${holder.home}` : ""}`
      : "a process that did not say who it is";
    super(
      kind === "home"
        ? `pincer home ${home} is in use by a running gateway (${who}); stop it first or start this one with another PINCER_HOME`
        : `session store ${home} is in use by a running gateway (${who}); stop it first or point session.store somewhere else`,
    );
    this.kind = kind;
    this.home = home;
    this.holder = holder;
  }
}

export interface HomeLock {
  readonly home: string;
  /** Adds a detail to what the lock tells a refused gateway (e.g. the port, once listening). */
  note(key: string, value: string | number): void;
  release(): Promise<void>;
}

const SOCKET_FILE: Record<LockedDirKind, string> = {
  home: ".pincer-gateway.sock",
  store: ".pincer-gateway-store.sock",
};

/** Takes the home lock or throws HomeInUseError naming the process that holds it. */
export function acquireHomeLock(home: string, about: { version: string }): Promise<HomeLock> {
  return acquireDirLock(home, "home", { version: about.version });
}

/**
 * Takes the lock of the home and of every store directory (deduplicated by real path), all or
 * none: on a refusal the locks already taken are released and the HomeInUseError is thrown.
 */
export async function acquireGatewayLocks(
  home: string,
  storeDirs: readonly string[],
  about: { version: string },
): Promise<HomeLock> {
  const locks: HomeLock[] = [];
  try {
    const homeLock = await acquireHomeLock(home, about);
    locks.push(homeLock);
    const seen = new Set<string>();
    for (const dir of storeDirs) {
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
      const real = fs.realpathSync(dir);
      if (seen.has(real)) continue;
      seen.add(real);
      locks.push(await acquireDirLock(real, "store", { version: about.version, home: homeLock.home }));
    }
  } catch (err) {
    for (const l of locks.reverse()) await l.release();
    throw err;
  }
  return {
    home: locks[0]!.home,
    note: (key, value) => {
      for (const l of locks) l.note(key, value);
    },
    release: async () => {
      for (const l of [...locks].reverse()) await l.release();
    },
  };
}

async function acquireDirLock(dir: string, kind: LockedDirKind, about: EndpointInfo): Promise<HomeLock> {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const real = fs.realpathSync(dir);
  const address = lockSocketAddress(real, SOCKET_FILE[kind], kind);
  const info: EndpointInfo = {
    pid: process.pid,
    host: os.hostname(),
    startedAt: new Date().toISOString(),
    ...about,
    [kind]: real,
  };
  const server = await listenExclusive(address, info);
  if (!server) {
    const answer = await probe(address);
    throw new HomeInUseError(real, answer.alive ? answer.info : null, kind);
  }
  return {
    home: real,
    note: (key, value) => {
      info[key] = value;
    },
    // Closing the server also removes its socket file.
    release: () => closeServer(server),
  };
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}
