// test/channels/platform-fake.ts
import type { ChannelName } from "../../src/channels/types.ts";
export interface FakeUser {
  id: string;
  name?: string;
}
export interface FakeSent {
  to: string;
  threadId?: string;
  text: string;
  replyTo?: string;
}
export interface PlatformFake {
  readonly channel: ChannelName;
  /** The `channels.<channel>` block that points the real adapter at this fake (token, base URL, …). */
  channelConfig(extra?: Record<string, unknown>): Record<string, unknown>;
  /** The bot's own user (mentions, loop protection). */
  readonly bot: FakeUser;
  /** A direct message from `from`; resolves once the platform would deliver it. Returns the platform message id. */
  sendDirect(from: FakeUser, text: string): Promise<string>;
  /** A message in a group/channel (`threadId`: forum topic / thread). `mention`: mention the bot natively. */
  sendGroup(
    group: { id: string; name?: string; threadId?: string },
    from: FakeUser,
    text: string,
    opts?: { mention?: boolean },
  ): Promise<string>;
  /** Everything the bot posted so far, in order (text as posted: rendered format). */
  sent(): FakeSent[];
  /** Waits until at least `n` posts were made (default timeout 10 s), then returns them. */
  waitForSent(n: number, timeoutMs?: number): Promise<FakeSent[]>;
  /** The key the gateway must build for a DM from `userId` / a message in `groupId` (OpenClaw's key forms). */
  directPeer(userId: string): string;
  groupPeer(groupId: string, threadId?: string): { chatType: "group" | "channel"; peer: string; threadSuffix?: string };
  /** Breaks the live connection / long poll; the adapter must come back by itself. */
  dropConnection(): Promise<void>;
  /** The next send answers 429 with this retry-after. */
  rateLimitNextSend(retryAfterSec: number): void;
  /** Every later call with the bot's credentials answers as the platform does for a revoked token. */
  revokeToken(): void;
  /** The platform's per-message limit (4096, 4000, 2000, …). */
  readonly maxChars: number;
  close(): Promise<void>;
}
