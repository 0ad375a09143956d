/** A gateway whose model is a local Anthropic or OpenAI wire-format server, for the system-prompt tests. */
import * as fs from "node:fs";
import * as path from "node:path";
import { afterEach, expect } from "vitest";
import type { PincerConfig } from "../../src/config/schema.ts";
import { startFakeAnthropic, startFakeOpenAI, type FakeServer } from "../fixtures/fake-providers.ts";
import { startTestGateway } from "./gateway-harness.ts";

export type Gw = Awaited<ReturnType<typeof startTestGateway>>;
export const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

export type Wire = "anthropic" | "openai";

/** The system text of a recorded request, in either wire format. */
export function systemOf(body: Record<string, unknown>): string {
  if (Array.isArray(body.system)) return (body.system as Array<{ text: string }>).map((b) => b.text).join("");
  if (typeof body.system === "string") return body.system;
  const first = (body.messages as Array<{ role: string; content: unknown }>)[0]!;
  expect(first.role).toBe("system");
  return typeof first.content === "string"
    ? first.content
    : (first.content as Array<{ text: string }>).map((b) => b.text).join("");
}

/** The user texts of a recorded request, in order. */
export function userTexts(body: Record<string, unknown>): string[] {
  return (body.messages as Array<{ role: string; content: unknown }>)
    .filter((m) => m.role === "user")
    .map((m) =>
      typeof m.content === "string"
        ? m.content
        : (m.content as Array<{ type: string; text?: string }>)
            .filter((b) => b.type === "text")
            .map((b) => b.text)
            .join(""),
    );
}

export async function gatewayWith(
  wire: Wire,
  config: PincerConfig = {},
  prepare?: (home: string) => void,
): Promise<{ gw: Gw; model: FakeServer }> {
  const model = wire === "anthropic" ? await startFakeAnthropic() : await startFakeOpenAI();
  const home = fs.mkdtempSync(path.join(fs.realpathSync(process.env.TMPDIR ?? "/tmp"), "pincer-sp-"));
  prepare?.(home);
  const provider: Record<string, { baseUrl: string; apiKey: string }> =
    wire === "anthropic"
      ? { anthropic: { baseUrl: `${model.url}/v1`, apiKey: "sk-test" } }
      : { openai: { baseUrl: `${model.url}/v1`, apiKey: "sk-test" } };
  const gw = await startTestGateway(
    {
      ...config,
      models: { providers: provider },
      agents: {
        ...(config.agents ?? {}),
        defaults: {
          model: wire === "anthropic" ? "anthropic/claude-test" : "openai/gpt-test",
          ...(config.agents?.defaults ?? {}),
        },
      },
    },
    { home },
  );
  cleanups.push(async () => {
    await gw.cleanup();
    await model.close();
    fs.rmSync(home, { recursive: true, force: true });
  });
  return { gw, model };
}

export async function say(gw: Gw, envelope: Record<string, unknown>): Promise<string | null> {
  const accepted = await gw.runtime.submit(envelope, { surface: "http", commandAuthorized: true });
  return (await accepted.done).reply;
}
