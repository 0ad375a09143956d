/**
 * One gateway per fs home. Two gateways writing the same transcripts fork their `parentId` chains,
 * so the second one is refused at start. The lock is a liveness endpoint named by the home's real
 * path (liveness.ts): the kernel drops it when the gateway dies, so a restart after a crash takes it
 * at once, and the refusal names the running process because that process answers who it is.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import type { Server } from "node:net";
import { listenExclusive, probe, socketAddress, type EndpointInfo } from "./liveness.ts";

export class HomeInUseError extends Error {
  readonly home: string;
  readonly holder: EndpointInfo | null;

  constructor(home: string, holder: EndpointInfo | null) {
    const who = holder
      ? `pid ${holder.pid} on ${holder.host}, started ${holder.startedAt}${holder.version ? `, pincer ${holder.version}` : ""}${holder.port ? `, port ${holder.port}` : ""}`
      : "a process that did not say who it is";
    super(`pincer home ${home} is in use by a running gateway (${who}); stop it first or start this one with another PINCER_HOME`);
    this.name = "HomeInUseError";
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

/** Takes the home lock or throws HomeInUseError naming the process that holds it. */
export async function acquireHomeLock(home: string, about: { version: string }): Promise<HomeLock> {
  fs.mkdirSync(home, { recursive: true, mode: 0o700 });
  const real = fs.realpathSync(home);
  const address = socketAddress("home", real);
  const info: EndpointInfo = { pid: process.pid, host: os.hostname(), startedAt: new Date().toISOString(), version: about.version, home: real };
  const server = await listenExclusive(address, info);
  if (!server) {
    const answer = await probe(address);
    throw new HomeInUseError(real, answer.alive ? answer.info : null);
  }
  return {
    home: real,
    note: (key, value) => {
      info[key] = value;
    },
    release: () => closeServer(server),
  };
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}
