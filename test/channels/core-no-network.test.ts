import { once } from "node:events";
import http from "node:http";
import net from "node:net";
import tls from "node:tls";
import dns from "node:dns";
import dgram from "node:dgram";
import { describe, expect, it } from "vitest";
import WebSocket from "ws";
import { isLoopbackHost } from "../setup/no-network.ts";

// The guard is installed by vitest.config.ts setupFiles; these check it covers every client path.
describe("no-network guard", () => {
  it("refuses fetch, http, ws, net, tls, dns and udp to non-loopback hosts", async () => {
    await expect(fetch("http://192.0.2.1:9/x")).rejects.toThrow(/fetch failed|no-network guard/);
    const cause = await fetch("https://api.telegram.org/bot1/getMe").catch((e: Error) => e.cause as Error);
    expect(String(cause)).toMatch(/no-network guard/);
    expect(() => http.get("http://198.51.100.7/")).toThrow(/no-network guard/);
    // http's ClientRequest turns a throwing createConnection into an async "error" event.
    const ws = new WebSocket("ws://203.0.113.5:80/");
    const [wsErr] = (await once(ws, "error")) as [Error];
    expect(wsErr.message).toMatch(/no-network guard/);
    expect(() => net.connect(443, "10.0.0.1")).toThrow(/no-network guard/);
    expect(() => net.createConnection({ host: "example.com", port: 80 })).toThrow(/no-network guard/);
    expect(() => tls.connect({ host: "slack.com", port: 443 })).toThrow(/no-network guard/);
    expect(() => dns.lookup("discord.com", () => undefined)).toThrow(/no-network guard/);
    await expect(dns.promises.lookup("discord.com")).rejects.toThrow(/no-network guard/);
    const udp = dgram.createSocket("udp4");
    expect(() => udp.send("x", 53, "8.8.8.8")).toThrow(/no-network guard/);
    udp.close();
  });

  it("lets loopback through", async () => {
    const server = http.createServer((_req, res) => res.end("ok"));
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const { port } = server.address() as net.AddressInfo;
    try {
      expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toBe("ok");
      expect(await (await fetch(`http://localhost:${port}/`)).text()).toBe("ok");
    } finally {
      server.close();
    }
    for (const h of ["127.0.0.1", "127.8.9.1", "::1", "[::1]", "localhost", "::ffff:127.0.0.1"]) {
      expect(isLoopbackHost(h)).toBe(true);
    }
    for (const h of ["10.0.0.1", "api.telegram.org", "::ffff:8.8.8.8", "2001:db8::1"])
      expect(isLoopbackHost(h)).toBe(false);
  });
});
