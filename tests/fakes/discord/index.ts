/**
 * A fake Discord for tests: the REST API (rest-server.ts) and the gateway (gateway.ts) sharing one state
 * (model.ts), plus the user's side: slash commands, button clicks and messages are dispatched on the gateway as
 * Discord would (INTERACTION_CREATE, MESSAGE_CREATE), and what the bot did is read from the recorded REST calls
 * and the state. Without the MessageContent intent, MESSAGE_CREATE carries no content unless the bot is
 * mentioned, as on Discord.
 *
 *   const discord = await startFakeDiscord();
 *   new Client({ intents, rest: { api: discord.rest.api } }).login(discord.token);
 *   const it = discord.slashCommand(ada, "start", { task: "...", data: url });
 */
import { startFakeGateway, type FakeGateway } from "./gateway.ts";
import {
  makeUser,
  MEMBER_PERMISSIONS,
  PERMS,
  publicMessage,
  snowflake,
  FakeState,
  type FakeAttachment,
  type FakeChannel,
  type FakeInteraction,
  type FakeMessage,
  type FakeUser,
} from "./model.ts";
import { startFakeRest, type FakeRestServer, type RecordedCall } from "./rest-server.ts";

export {
  PERMS,
  MEMBER_PERMISSIONS,
  type FakeAttachment,
  type FakeChannel,
  type FakeInteraction,
  type FakeMessage,
  type FakeUser,
  type RecordedCall,
};

const MESSAGE_CONTENT_INTENT = 1 << 15;

export type OptionValue = string | number | boolean | FakeAttachment;

export interface FakeMember {
  user: FakeUser;
  /** Permission bits of the member in the channel (default: a regular member). */
  permissions?: bigint;
}

export interface FakeDiscord {
  readonly state: FakeState;
  readonly rest: FakeRestServer;
  readonly gateway: FakeGateway;
  readonly token: string;
  readonly applicationId: string;
  readonly guildId: string;
  /** The guild's text channel. */
  readonly channel: FakeChannel;
  readonly calls: RecordedCall[];
  /** A new guild member. */
  user(name: string): FakeUser;
  /** `/aide <subcommand> <options>`; returns the interaction (its callbacks, original response and follow-ups fill in). */
  slashCommand(
    member: FakeMember,
    subcommand: string,
    options?: Record<string, OptionValue>,
    channelId?: string,
  ): FakeInteraction;
  /** Clicks a button of a message the bot posted. */
  clickButton(member: FakeMember, messageId: string, customId: string): FakeInteraction;
  /** A user's message in a channel or thread; `mention: true` prefixes a mention of the bot. */
  sendMessage(
    member: FakeMember,
    channelId: string,
    content: string,
    opts?: { mention?: boolean; attachments?: FakeAttachment[] },
  ): FakeMessage;
  /** Archives a thread (`locked`: the bot may not unarchive it). */
  archiveThread(threadId: string, locked?: boolean): void;
  /** Messages the bot posted in a channel or thread (not interaction responses), oldest first. */
  botMessages(channelId: string): FakeMessage[];
  close(): Promise<void>;
}

/** Polls `check` until it returns a truthy value or `timeoutMs` passes (then throws with `what`). */
export async function waitFor<T>(
  check: () => T | undefined | null | false,
  timeoutMs: number,
  what = "condition",
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function optionType(v: OptionValue): number {
  if (typeof v === "string") return 3;
  if (typeof v === "boolean") return 5;
  if (typeof v === "number") return Number.isInteger(v) ? 4 : 10;
  return 11;
}

export async function startFakeDiscord(): Promise<FakeDiscord> {
  const state = new FakeState();
  let gateway: FakeGateway | null = null;
  const rest = await startFakeRest(state, () => gateway!.url, {
    threadCreated: (t) => gateway?.dispatch("THREAD_CREATE", { ...(t as object), newly_created: true }),
    threadUpdated: (t) => gateway?.dispatch("THREAD_UPDATE", t),
    messageCreated: (m) => gateway?.dispatch("MESSAGE_CREATE", publicMessage(m)),
  });
  gateway = await startFakeGateway(state);
  const gw = gateway;
  const commandId = snowflake();

  const memberPayload = (member: FakeMember) => ({
    user: member.user,
    roles: [],
    permissions: String(member.permissions ?? MEMBER_PERMISSIONS),
    joined_at: new Date().toISOString(),
    deaf: false,
    mute: false,
    flags: 0,
    nick: null,
    avatar: null,
    pending: false,
    premium_since: null,
    communication_disabled_until: null,
  });
  const channelPayload = (id: string) => {
    const c = state.channels.get(id);
    if (!c) throw new Error(`fake discord: no channel ${id}`);
    return c;
  };
  const newInteraction = (type: number, member: FakeMember, channelId: string): FakeInteraction => {
    const it: FakeInteraction = {
      id: snowflake(),
      token: `itoken-${snowflake()}`,
      type,
      user: member.user,
      channelId,
      callbacks: [],
      original: null,
      followups: [],
      deleted: false,
      createdAt: Date.now(),
    };
    state.interactions.set(it.id, it);
    return it;
  };
  const base = (it: FakeInteraction, member: FakeMember, channelId: string) => ({
    id: it.id,
    application_id: state.applicationId,
    type: it.type,
    token: it.token,
    version: 1,
    guild_id: state.guildId,
    channel_id: channelId,
    channel: channelPayload(channelId),
    member: memberPayload(member),
    app_permissions: String(MEMBER_PERMISSIONS),
    locale: "en-US",
    guild_locale: "en-US",
    entitlements: [],
    authorizing_integration_owners: { "0": state.guildId },
    context: 0,
  });

  return {
    state,
    rest,
    gateway: gw,
    token: state.token,
    applicationId: state.applicationId,
    guildId: state.guildId,
    channel: state.general,
    calls: rest.calls,
    user: (name) => makeUser(snowflake(), name),
    slashCommand(member, subcommand, options = {}, channelId = state.general.id) {
      const it = newInteraction(2, member, channelId);
      const attachments: Record<string, FakeAttachment> = {};
      const opts = Object.entries(options).map(([name, value]) => {
        if (typeof value === "object") {
          attachments[value.id] = value;
          return { name, type: 11, value: value.id };
        }
        return { name, type: optionType(value), value };
      });
      gw.dispatch("INTERACTION_CREATE", {
        ...base(it, member, channelId),
        data: {
          id: commandId,
          name: "aide",
          type: 1,
          options: [{ type: 1, name: subcommand, options: opts }],
          ...(Object.keys(attachments).length ? { resolved: { attachments } } : {}),
        },
      });
      return it;
    },
    clickButton(member, messageId, customId) {
      const message = state.messages.get(messageId);
      if (!message) throw new Error(`fake discord: no message ${messageId}`);
      const it = newInteraction(3, member, message.channel_id);
      gw.dispatch("INTERACTION_CREATE", {
        ...base(it, member, message.channel_id),
        message: publicMessage(message),
        data: { custom_id: customId, component_type: 2 },
      });
      return it;
    },
    sendMessage(member, channelId, content, opts = {}) {
      const channel = channelPayload(channelId);
      const text = opts.mention ? `<@${state.bot.id}> ${content}` : content;
      const message: FakeMessage = {
        id: snowflake(),
        channel_id: channelId,
        guild_id: state.guildId,
        author: member.user,
        content: text,
        embeds: [],
        components: [],
        attachments: opts.attachments ?? [],
        mentions: opts.mention ? [state.bot] : [],
        mention_roles: [],
        mention_everyone: false,
        flags: 0,
        type: 0,
        tts: false,
        pinned: false,
        timestamp: new Date().toISOString(),
        edited_timestamp: null,
        files: [],
        edits: [],
      };
      state.messages.set(message.id, message);
      channel.last_message_id = message.id;
      // Without the privileged intent Discord blanks content, attachments and embeds unless the bot is mentioned.
      const visible = opts.mention || (gw.intents() & MESSAGE_CONTENT_INTENT) !== 0;
      const { user: _user, ...memberNoUser } = memberPayload(member);
      gw.dispatch("MESSAGE_CREATE", {
        ...publicMessage(message),
        ...(visible ? {} : { content: "", attachments: [], embeds: [] }),
        member: memberNoUser,
      });
      return message;
    },
    archiveThread(threadId, locked = false) {
      const t = state.channels.get(threadId);
      if (!t?.thread_metadata) throw new Error(`fake discord: ${threadId} is not a thread`);
      t.thread_metadata.archived = true;
      t.thread_metadata.locked = locked;
      gw.dispatch("THREAD_UPDATE", t);
    },
    botMessages(channelId) {
      return state.messagesIn(channelId).filter((m) => m.author.id === state.bot.id);
    },
    async close() {
      await gw.close();
      await rest.close();
    },
  };
}
