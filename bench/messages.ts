/**
 * The SQLite message store of a messenger (shaped like Signal's and WhatsApp's): messages keyed
 * by an INTEGER PRIMARY KEY and also by a random UUID with a UNIQUE index, a (chat, time) index,
 * chats, contacts and attachment rows. The UUID index is what matters for backups: a day's new
 * messages land on index pages all over the file, so an "append-only" day still rewrites pages
 * throughout the database.
 *
 * Rollback-journal mode (not WAL): after each commit the .db file alone holds the database, as
 * a backup tool would find it.
 */
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import type { MediaFile, MediaKind } from './media.ts';
import { Rng, Zipf } from './prng.ts';

export const PAGE_SIZE = 4096;

const SCHEMA = `
CREATE TABLE contacts (
  id INTEGER PRIMARY KEY,
  key_id TEXT NOT NULL UNIQUE,
  display_name TEXT NOT NULL,
  phone TEXT,
  created_at INTEGER NOT NULL
);
CREATE TABLE chats (
  id INTEGER PRIMARY KEY,
  key_id TEXT NOT NULL UNIQUE,
  title TEXT,
  is_group INTEGER NOT NULL,
  contact_id INTEGER REFERENCES contacts(id),
  created_at INTEGER NOT NULL,
  last_message_at INTEGER,
  unread_count INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE messages (
  id INTEGER PRIMARY KEY,
  key_id TEXT NOT NULL UNIQUE,
  chat_id INTEGER NOT NULL REFERENCES chats(id),
  sender_id INTEGER REFERENCES contacts(id), -- NULL: sent by this device's owner
  sent_at INTEGER NOT NULL,
  received_at INTEGER NOT NULL,
  read_at INTEGER,
  kind INTEGER NOT NULL, -- 0 text, 1 image, 2 video, 3 voice note
  body TEXT,
  quoted_id INTEGER,
  status INTEGER NOT NULL -- 1 sent, 2 delivered, 3 read
);
CREATE INDEX messages_chat_time ON messages(chat_id, sent_at);
CREATE TABLE attachments (
  id INTEGER PRIMARY KEY,
  message_id INTEGER NOT NULL REFERENCES messages(id),
  key_id TEXT NOT NULL UNIQUE,
  content_type TEXT NOT NULL,
  size INTEGER NOT NULL,
  path TEXT NOT NULL,
  digest BLOB NOT NULL,
  width INTEGER,
  height INTEGER,
  duration_ms INTEGER
);
CREATE INDEX attachments_message ON attachments(message_id);
`;

const KIND_CODE: Record<MediaKind, number> = { image: 1, video: 2, voice: 3 };
const CONTENT_TYPE: Record<MediaKind, string> = { image: 'image/jpeg', video: 'video/mp4', voice: 'audio/ogg' };

/** Pseudo-words from syllables: text with the letter and word statistics (and compressibility) of chat. */
class TextMaker {
  private readonly words: string[] = [];
  private readonly zipf: Zipf;
  private static readonly EMOJI = ['😂', '❤️', '👍', '🙏', '😊', '😭', '🎉', '🔥', '😅', '👀'];

  constructor(rng: Rng) {
    const onsets = ['', 'b', 'c', 'd', 'f', 'g', 'h', 'k', 'l', 'm', 'n', 'p', 'r', 's', 't', 'v', 'w', 'br', 'st', 'th', 'ch', 'tr'];
    const vowels = ['a', 'e', 'i', 'o', 'u', 'ea', 'ou', 'ai'];
    const codas = ['', '', 'n', 's', 't', 'r', 'l', 'nd', 'st', 'ng'];
    const seen = new Set<string>();
    while (this.words.length < 4000) {
      let word = '';
      const syllables = 1 + Math.min(3, Math.floor(rng.exponential(0.8)));
      for (let s = 0; s < syllables; s++) word += rng.pick(onsets) + rng.pick(vowels) + rng.pick(codas);
      if (!seen.has(word)) {
        seen.add(word);
        this.words.push(word);
      }
    }
    // Frequent words are short in every language: rank 0 gets the shortest.
    this.words.sort((a, b) => a.length - b.length);
    this.zipf = new Zipf(this.words.length, 1.0);
  }

  /** A message body: median ~8 words with a long tail of pasted paragraphs. */
  message(rng: Rng, medianWords = 8): string {
    const count = Math.max(1, Math.min(400, Math.round(rng.logNormal(medianWords, 0.9))));
    const parts: string[] = [];
    for (let i = 0; i < count; i++) parts.push(this.words[this.zipf.sample(rng)] ?? 'x');
    let text = parts.join(' ');
    text = text.charAt(0).toUpperCase() + text.slice(1);
    const u = rng.float();
    if (u < 0.12) text += '?';
    else if (u < 0.2) text += '!';
    else if (u < 0.3) text += ' ' + rng.pick(TextMaker.EMOJI);
    return text;
  }

  name(rng: Rng): string {
    const w = (): string => {
      const s = this.words[rng.int(0, this.words.length - 1)] ?? 'x';
      return s.charAt(0).toUpperCase() + s.slice(1);
    };
    return `${w()} ${w()}`;
  }
}

interface Chat {
  id: number;
  isGroup: boolean;
  contactId: number;
}

/** Shared state of one database's generator: statements, people, chats, and how activity spreads. */
class Writer {
  readonly insertMessage: StatementSync;
  readonly insertAttachment: StatementSync;
  readonly text: TextMaker;
  readonly chatZipf: Zipf;
  readonly rng: Rng;
  readonly chats: Chat[];
  readonly contactCount: number;

  constructor(db: DatabaseSync, rng: Rng, seed: number, chats: Chat[], contactCount: number) {
    this.rng = rng;
    this.chats = chats;
    this.contactCount = contactCount;
    this.insertMessage = db.prepare(
      'INSERT INTO messages (key_id, chat_id, sender_id, sent_at, received_at, read_at, kind, body, quoted_id, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    this.insertAttachment = db.prepare(
      'INSERT INTO attachments (message_id, key_id, content_type, size, path, digest, width, height, duration_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    // Its own stream, so day 1 and day 2 share one vocabulary whatever else they draw.
    this.text = new TextMaker(new Rng(seed, 1));
    this.chatZipf = new Zipf(chats.length, 1.1);
  }

  /** Inserts one message (text, or media with its attachment row); returns its chat id. */
  message(time: number, lastId: number, media: MediaFile | null): number {
    const rng = this.rng;
    const chat = this.chats[this.chatZipf.sample(rng)] ?? { id: 1, isGroup: false, contactId: 1 };
    const outgoing = rng.chance(0.4);
    const sender = outgoing ? null : chat.isGroup ? rng.int(1, this.contactCount) : chat.contactId;
    const sentAt = Math.floor(time);
    const receivedAt = outgoing ? sentAt : sentAt + rng.int(200, 5000);
    const readAt = outgoing ? null : receivedAt + Math.floor(rng.exponential(600_000));
    const quoted = lastId > 1 && rng.chance(0.05) ? rng.int(Math.max(1, lastId - 200), lastId) : null;
    const kind = media === null ? 0 : KIND_CODE[media.kind];
    const body = media === null ? this.text.message(rng) : media.kind === 'image' && rng.chance(0.3) ? this.text.message(rng, 4) : null;
    const { lastInsertRowid } = this.insertMessage.run(rng.uuid(), chat.id, sender, sentAt, receivedAt, readAt, kind, body, quoted, outgoing ? 3 : 2);
    if (media !== null) {
      const digest = new Uint8Array(32);
      for (let i = 0; i < 32; i += 4) new DataView(digest.buffer).setUint32(i, rng.u32());
      const visual = media.kind !== 'voice';
      const duration = media.kind === 'image' ? null : Math.round(media.size / (media.kind === 'voice' ? 2 : 250));
      this.insertAttachment.run(lastInsertRowid, rng.uuid(), CONTENT_TYPE[media.kind], media.size, media.path, digest, visual ? 1280 : null, visual ? 960 : null, duration);
    }
    return chat.id;
  }
}

function open(path: string): DatabaseSync {
  const db = new DatabaseSync(path);
  // synchronous=OFF only skips fsyncs while generating; it does not change what lands in the file.
  db.exec('PRAGMA journal_mode=DELETE; PRAGMA synchronous=OFF; PRAGMA cache_size=-524288;');
  return db;
}

function loadChats(db: DatabaseSync): Chat[] {
  return db.prepare('SELECT id, is_group, contact_id FROM chats ORDER BY id').all().map((r) => ({
    id: Number(r.id),
    isGroup: Number(r.is_group) === 1,
    contactId: Number(r.contact_id ?? 1),
  }));
}

/**
 * Day 1: `count` messages spread over [start, end), `media` (sorted by time) carried by some of
 * them. Messages are inserted in time order, as they arrived, so ids grow with time.
 */
export function createMessageStore(path: string, opts: { seed: number; count: number; start: number; end: number; media: readonly MediaFile[] }): void {
  const rng = new Rng(opts.seed, 10);
  const db = open(path);
  db.exec(`PRAGMA page_size=${String(PAGE_SIZE)};`);
  db.exec(SCHEMA);
  const contactCount = Math.max(10, Math.round(opts.count / 2000));
  const chatCount = Math.max(8, Math.round(opts.count / 4000));
  const text = new TextMaker(new Rng(opts.seed, 11));
  db.exec('BEGIN');
  const addContact = db.prepare('INSERT INTO contacts (key_id, display_name, phone, created_at) VALUES (?, ?, ?, ?)');
  for (let i = 0; i < contactCount; i++) addContact.run(rng.uuid(), text.name(rng), `+4917${String(rng.int(10_000_000, 99_999_999))}`, opts.start);
  const addChat = db.prepare('INSERT INTO chats (key_id, title, is_group, contact_id, created_at) VALUES (?, ?, ?, ?, ?)');
  for (let i = 0; i < chatCount; i++) {
    const group = rng.chance(0.2);
    addChat.run(rng.uuid(), group ? text.name(rng) : null, group ? 1 : 0, group ? null : 1 + (i % contactCount), opts.start);
  }
  db.exec('COMMIT');

  const writer = new Writer(db, rng, opts.seed, loadChats(db), contactCount);
  const lastAt = new Map<number, number>();
  let id = 0;
  const BATCH = 20_000; // one transaction per batch: fast to generate, same pages as many small ones
  db.exec('BEGIN');
  for (const { time, media } of timeline(rng, opts)) {
    const chat = writer.message(time, id, media);
    lastAt.set(chat, Math.floor(time));
    if (++id % BATCH === 0) db.exec('COMMIT; BEGIN');
  }
  const setLast = db.prepare('UPDATE chats SET last_message_at = ? WHERE id = ?');
  for (const [chat, at] of lastAt) setLast.run(at, chat);
  db.exec('COMMIT');
  db.close();
}

/**
 * Message times in order: `count − media.length` text messages at random times in [start, end)
 * (drawn up front, so the PRNG sequence does not depend on the merge), merged with the media
 * messages, which carry their own times.
 */
function* timeline(rng: Rng, opts: { count: number; start: number; end: number; media: readonly MediaFile[] }): Generator<{ time: number; media: MediaFile | null }> {
  const textCount = Math.max(0, opts.count - opts.media.length);
  const times = new Float64Array(textCount);
  for (let i = 0; i < textCount; i++) times[i] = opts.start + rng.float() * (opts.end - opts.start);
  times.sort();
  let m = 0;
  for (let i = 0; i < textCount || m < opts.media.length; ) {
    const t = i < textCount ? (times[i] ?? 0) : Infinity;
    const media = opts.media[m];
    if (media !== undefined && media.time <= t) {
      m++;
      yield { time: media.time, media };
    } else {
      i++;
      yield { time: t, media: null };
    }
  }
}

/**
 * The next day, as the messenger itself would write it: `count` new messages in bursts of small
 * transactions with random UUIDs (so index pages change all over the file), the chats' last-message
 * time and unread counts updated, and `media` (sorted by time) carried by some of the new messages.
 */
export function addNextDayMessages(path: string, opts: { seed: number; count: number; start: number; end: number; media: readonly MediaFile[] }): void {
  const rng = new Rng(opts.seed, 20);
  const db = open(path);
  const contactCount = Number(db.prepare('SELECT count(*) AS n FROM contacts').get()?.n ?? 1);
  const writer = new Writer(db, rng, opts.seed, loadChats(db), contactCount);
  const touch = db.prepare('UPDATE chats SET last_message_at = ?, unread_count = unread_count + 1 WHERE id = ?');
  let lastId = Number(db.prepare('SELECT max(id) AS n FROM messages').get()?.n ?? 0);
  let burst = 0;
  db.exec('BEGIN');
  for (const { time, media } of timeline(rng, opts)) {
    const chat = writer.message(time, lastId++, media);
    touch.run(Math.floor(time), chat);
    // A phone commits every few messages as they sync in.
    if (++burst % 8 === 0) db.exec('COMMIT; BEGIN');
  }
  db.exec('COMMIT');
  db.close();
}
