/**
 * Discord's documented limits (https://discord.com/developers/docs/resources/message,
 * .../resources/channel#embed-limits, .../interactions/message-components). One place, so rendering,
 * splitting and the tests agree.
 */
export const DISCORD_LIMITS = {
  /** Characters of a message's `content`. */
  content: 2000,
  embedTitle: 256,
  embedDescription: 4096,
  embedFields: 25,
  embedFieldName: 256,
  embedFieldValue: 1024,
  embedFooter: 2048,
  /** Sum of all text in all embeds of one message. */
  embedTotal: 6000,
  embedsPerMessage: 10,
  /** Files attached to one message. */
  filesPerMessage: 10,
  /**
   * Upload size of a message without server boosts (10 MiB since 2024; boosted servers allow more). The bot
   * keeps to it unless told otherwise (`maxUploadBytes`).
   */
  uploadBytes: 10 * 1024 * 1024,
  buttonsPerRow: 5,
  rowsPerMessage: 5,
  buttonLabel: 80,
  customId: 100,
  threadName: 100,
  /** An interaction must be answered (or deferred) within 3 s; its token then works for 15 minutes. */
  interactionAckMs: 3000,
  interactionTokenMs: 15 * 60 * 1000,
} as const;
