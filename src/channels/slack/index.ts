/** Slack: the adapter factory the channel registry imports (Socket Mode or HTTP Events on @slack/bolt). */
import type { AccountSettings, ChannelAdapter } from "../types.ts";
import { SlackAdapter } from "./adapter.ts";

export function createSlackAdapter(settings: AccountSettings): ChannelAdapter {
  return new SlackAdapter(settings);
}
