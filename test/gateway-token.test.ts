/**
 * OpenClaw accepts any gateway token; Pincer wants 16+ characters. A short token from an OpenClaw
 * config is accepted on loopback (with a warning naming the fix) and refused beyond it, where the
 * token is all that stands between the network and the agent.
 */
import { describe, expect, it } from "vitest";
import { validateConfig } from "../src/config/load.ts";

const parseConfig = (raw: unknown) => validateConfig(raw, null).config;
import { GatewaySettingsError, resolveGatewaySettings } from "../src/gateway/settings.ts";

describe("a short gateway.auth.token (OpenClaw allows one)", () => {
  it("loads from the config file and is used on loopback, marked weak", () => {
    const config = parseConfig({ gateway: { auth: { token: "oc-short" } } });
    const s = resolveGatewaySettings(config, "/nonexistent", {}, { host: "127.0.0.1", port: 0 });
    expect(s.token).toBe("oc-short");
    expect(s.weakToken).toBe(true);
  });

  it("is refused beyond loopback, naming the key, the length and what is expected", () => {
    const config = parseConfig({ gateway: { auth: { token: "oc-short" } } });
    expect(() => resolveGatewaySettings(config, "/nonexistent", {}, { host: "0.0.0.0", port: 0 })).toThrow(
      GatewaySettingsError,
    );
    expect(() => resolveGatewaySettings(config, "/nonexistent", {}, { host: "0.0.0.0", port: 0 })).toThrow(
      /gateway\.auth\.token: got a token of 8 characters.*at least 16.*beyond loopback/,
    );
  });

  it("a long token is not weak", () => {
    const config = parseConfig({ gateway: { auth: { token: "x".repeat(32) } } });
    expect(resolveGatewaySettings(config, "/nonexistent", {}, { host: "127.0.0.1", port: 0 }).weakToken).toBe(false);
  });
});
