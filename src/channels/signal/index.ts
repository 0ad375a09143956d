/** Signal: the adapter factory the channel registry imports (a signal-cli daemon over HTTP: JSON-RPC + SSE). */
import type { AccountSettings, ChannelAdapter } from "../types.ts";
import { SignalAdapter } from "./adapter.ts";

export function createSignalAdapter(settings: AccountSettings): ChannelAdapter {
  return new SignalAdapter(settings);
}
