/** The normalised shape of one inbound message, as a channel bridge hands it to Pincer. */
export type ChatType = "direct" | "group" | "channel";

export interface InboundEnvelope {
  channel: string;
  accountId?: string;
  chatType: ChatType;
  /** The other side: the sender for DMs, the group/room id for groups and channels. */
  peerId: string;
  groupId?: string;
  threadId?: string;
  /** Telegram forum topic id (part of the group peer). */
  topicId?: string;
  /**
   * Telegram groups: the chat is a forum (topics on). Without it a Telegram group's `threadId` is a
   * reply thread, which is not a session of its own (as in OpenClaw); a forum message without a
   * topic is in the General topic (`1`).
   */
  isForum?: boolean;
  /**
   * The conversation around the peer, when it is not the peer itself: a Discord thread's parent
   * channel (bindings match it as the parent peer), a Matrix DM's room (likewise), a Telegram DM's
   * chat id when it differs from the sender (its DM topics are keyed `:thread:<chat>:<topic>`).
   */
  parentPeerId?: string;
  /** Groups: the group's title (OpenClaw's `subject`; also the row's `displayName` and origin label). */
  groupSubject?: string;
  senderId: string;
  senderName?: string;
  text: string;
  messageId?: string;
  /** Epoch ms when the platform saw the message. */
  timestamp?: number;
  guildId?: string;
  teamId?: string;
  roles?: string[];
  /** Groups: whether the bridge saw the agent mentioned (mention gating). */
  wasMentioned?: boolean;
}
