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
