/**
 * ChannelName → the adapter factory of that platform (seam 1: each adapter folder's index.ts
 * exports one). A channel without an entry is configured but cannot start (reported in status).
 */
import { createDiscordAdapter } from "./discord/index.ts";
import { createSignalAdapter } from "./signal/index.ts";
import { createSlackAdapter } from "./slack/index.ts";
import { createTelegramAdapter } from "./telegram/index.ts";
import type { AccountSettings, ChannelAdapter, ChannelName } from "./types.ts";

export type AdapterFactory = (settings: AccountSettings) => ChannelAdapter;

export const ADAPTER_FACTORIES: Partial<Record<ChannelName, AdapterFactory>> = {
  telegram: createTelegramAdapter,
  slack: createSlackAdapter,
  discord: createDiscordAdapter,
  signal: createSignalAdapter,
};
