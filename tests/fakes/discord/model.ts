/**
 * The state of the fake Discord (one guild, its channels, threads, messages, interactions, registered commands)
 * and the payload shapes both halves (REST and gateway) hand out. Shapes follow Discord's API v10 objects
 * closely enough for discord.js to build its structures from them.
 */

export const DISCORD_EPOCH = 1420070400000n;

let counter = 0n;
/** A real-looking, increasing snowflake. */
export function snowflake(): string {
  counter = (counter + 1n) % 4096n;
  return String(((BigInt(Date.now()) - DISCORD_EPOCH) << 22n) | counter);
}

/** Permission bits used by the fake (discord-api-types PermissionFlagsBits). */
export const PERMS = {
  ManageGuild: 1n << 5n,
  ViewChannel: 1n << 10n,
  SendMessages: 1n << 11n,
  ReadMessageHistory: 1n << 16n,
  UseApplicationCommands: 1n << 31n,
  SendMessagesInThreads: 1n << 38n,
} as const;

export const MEMBER_PERMISSIONS =
  PERMS.ViewChannel |
  PERMS.SendMessages |
  PERMS.ReadMessageHistory |
  PERMS.UseApplicationCommands |
  PERMS.SendMessagesInThreads;

export interface FakeUser {
  id: string;
  username: string;
  global_name: string | null;
  discriminator: string;
  avatar: null;
  bot?: boolean;
}

export interface FakeAttachment {
  id: string;
  filename: string;
  size: number;
  url: string;
  proxy_url: string;
  content_type?: string;
  description?: string;
}

export interface RecordedFile {
  /** Multipart field name, e.g. `files[0]`. */
  field: string;
  name: string;
  contentType: string;
  data: Buffer;
}

export interface FakeMessage {
  id: string;
  channel_id: string;
  guild_id?: string;
  author: FakeUser;
  content: string;
  embeds: any[];
  components: any[];
  attachments: FakeAttachment[];
  mentions: FakeUser[];
  mention_roles: string[];
  mention_everyone: boolean;
  allowed_mentions?: any;
  flags: number;
  type: number;
  tts: boolean;
  pinned: boolean;
  timestamp: string;
  edited_timestamp: string | null;
  /** Files uploaded with the message (and later edits). */
  files: RecordedFile[];
  /** Edits applied to it, oldest first (the bodies as received). */
  edits: any[];
  /** For interaction responses and follow-ups. */
  interaction?: { id: string; ephemeral: boolean };
  webhook_id?: string;
}

export interface FakeChannel {
  id: string;
  type: number;
  guild_id: string;
  name: string;
  parent_id: string | null;
  position: number;
  permission_overwrites: any[];
  nsfw: boolean;
  topic: string | null;
  last_message_id: string | null;
  rate_limit_per_user: number;
  owner_id?: string;
  thread_metadata?: { archived: boolean; auto_archive_duration: number; archive_timestamp: string; locked: boolean };
  message_count?: number;
  member_count?: number;
}

export interface FakeInteraction {
  id: string;
  token: string;
  type: number;
  user: FakeUser;
  channelId: string;
  /** Callback bodies received, in order (type 5 deferred, 6 deferred update, 4 message...). */
  callbacks: Array<{ type: number; data?: any; at: number }>;
  /** The original response (`@original`), once edited. */
  original: FakeMessage | null;
  followups: FakeMessage[];
  deleted: boolean;
  createdAt: number;
}

export interface RegisteredCommands {
  scope: "global" | string;
  commands: any[];
}

export function makeUser(id: string, name: string, bot = false): FakeUser {
  return {
    id,
    username: name.toLowerCase().replace(/\W+/g, ""),
    global_name: name,
    discriminator: "0",
    avatar: null,
    ...(bot ? { bot: true } : {}),
  };
}

export function textChannel(id: string, guildId: string, name: string): FakeChannel {
  return {
    id,
    type: 0,
    guild_id: guildId,
    name,
    parent_id: null,
    position: 0,
    permission_overwrites: [],
    nsfw: false,
    topic: null,
    last_message_id: null,
    rate_limit_per_user: 0,
  };
}

export function threadChannel(
  id: string,
  parent: FakeChannel,
  name: string,
  ownerId: string,
  autoArchive: number,
): FakeChannel {
  return {
    ...textChannel(id, parent.guild_id, name),
    type: 11,
    parent_id: parent.id,
    owner_id: ownerId,
    thread_metadata: {
      archived: false,
      auto_archive_duration: autoArchive,
      archive_timestamp: new Date().toISOString(),
      locked: false,
    },
    message_count: 0,
    member_count: 1,
  };
}

/** The message object as Discord returns it (without the fake's bookkeeping). */
export function publicMessage(m: FakeMessage): Record<string, unknown> {
  const { files: _files, edits: _edits, interaction: _interaction, allowed_mentions: _am, ...rest } = m;
  return rest;
}

export class FakeState {
  readonly guildId = snowflake();
  readonly applicationId: string;
  /** The bot token the fake accepts (`Authorization: Bot <token>`). */
  readonly token = "fake-discord-bot-token";
  readonly bot: FakeUser;
  readonly owner = makeUser(snowflake(), "Owner");
  readonly channels = new Map<string, FakeChannel>();
  readonly messages = new Map<string, FakeMessage>();
  readonly interactions = new Map<string, FakeInteraction>();
  readonly commands = new Map<string, RegisteredCommands>();
  /** Files served at /attachments/<id>/<name> (the fake CDN). */
  readonly cdn = new Map<string, { name: string; data: Buffer; contentType: string }>();
  readonly general: FakeChannel;

  constructor(applicationId = snowflake()) {
    this.applicationId = applicationId;
    this.bot = makeUser(applicationId, "AIDE", true);
    this.general = textChannel(snowflake(), this.guildId, "general");
    this.channels.set(this.general.id, this.general);
  }

  messagesIn(channelId: string): FakeMessage[] {
    return [...this.messages.values()].filter((m) => m.channel_id === channelId && !m.interaction);
  }

  threads(): FakeChannel[] {
    return [...this.channels.values()].filter((c) => c.type === 11);
  }

  guildPayload(): Record<string, unknown> {
    return {
      id: this.guildId,
      name: "AIDE test guild",
      icon: null,
      splash: null,
      discovery_splash: null,
      owner_id: this.owner.id,
      afk_channel_id: null,
      afk_timeout: 300,
      verification_level: 0,
      default_message_notifications: 0,
      explicit_content_filter: 0,
      roles: [
        {
          id: this.guildId,
          name: "@everyone",
          color: 0,
          hoist: false,
          position: 0,
          permissions: String(MEMBER_PERMISSIONS),
          managed: false,
          mentionable: false,
          flags: 0,
        },
      ],
      emojis: [],
      stickers: [],
      features: [],
      mfa_level: 0,
      application_id: null,
      system_channel_id: null,
      system_channel_flags: 0,
      rules_channel_id: null,
      vanity_url_code: null,
      description: null,
      banner: null,
      premium_tier: 0,
      premium_subscription_count: 0,
      preferred_locale: "en-US",
      public_updates_channel_id: null,
      nsfw_level: 0,
      premium_progress_bar_enabled: false,
      joined_at: new Date().toISOString(),
      large: false,
      unavailable: false,
      member_count: 3,
      voice_states: [],
      members: [],
      channels: [...this.channels.values()].filter((c) => c.type !== 11),
      threads: this.threads(),
      presences: [],
      stage_instances: [],
      guild_scheduled_events: [],
    };
  }
}
