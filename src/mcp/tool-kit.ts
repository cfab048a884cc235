import * as z from 'zod';
import type { ToolAnnotations } from '@modelcontextprotocol/server';
import type { TokenGrant } from '../core/policy.js';
import type { TokenType } from '../core/token-format.js';
import type { Principal } from '../services/context.js';
import type { MailService } from '../services/mail.js';
import type { PlatformService } from '../services/platform.js';

/**
 * The scope each tool needs, per token type: the one table every decision about a tool reads
 * (what `tools/list` shows, what `tools/call` refuses, what the docs say a scope allows). A type
 * that is absent may not call the tool at all. Message tokens reach one mailbox, so of these
 * they get `whoami`, and reading and sending within that mailbox.
 */
export const TOOL_SCOPES = {
  whoami: { mcp: 'mcp:read', message: 'messages:read' },
  list_domains: { mcp: 'mcp:read' },
  list_mailboxes: { mcp: 'mcp:read' },
  list_activity: { mcp: 'mcp:read' },
  search_messages: { mcp: 'mcp:read', message: 'messages:read' },
  read_message: { mcp: 'mcp:read', message: 'messages:read' },
  create_mailbox: { mcp: 'mcp:write' },
  mark_message: { mcp: 'mcp:write' },
  move_message: { mcp: 'mcp:write' },
  create_draft: { mcp: 'mcp:write' },
  send_email: { mcp: 'mcp:send', message: 'messages:send' },
  send_draft: { mcp: 'mcp:send' },
} as const satisfies Record<string, Partial<Record<TokenType, string>>>;

export type ToolName = keyof typeof TOOL_SCOPES;

/** What a tool is handed: the caller exactly as a REST route would see it, and the services. */
export interface ToolCall {
  grant: TokenGrant;
  principal: Principal;
  platform: PlatformService;
  mail: MailService;
  /** The tools this token may call, for `whoami`. */
  callable: readonly ToolName[];
}

export interface ToolOutcome<T> {
  structured: T;
  /** A short summary for a model that reads text only; the structured content carries the rest. */
  text: string;
}

export interface ToolDef {
  name: ToolName;
  title: string;
  description: string;
  input: z.ZodObject;
  output: z.ZodObject;
  annotations: ToolAnnotations;
  run(call: ToolCall, args: Record<string, unknown>): Promise<ToolOutcome<Record<string, unknown>>>;
}

/** Keeps each tool's arguments and result typed by its own schemas, then erases them for the table. */
export function tool<I extends z.ZodObject, O extends z.ZodObject>(def: {
  name: ToolName; title: string; description: string; input: I; output: O; annotations?: ToolAnnotations;
  run(call: ToolCall, args: z.output<I>): Promise<ToolOutcome<z.output<O>>>;
}): ToolDef {
  return { annotations: READ_ONLY, ...def } as unknown as ToolDef;
}

export const READ_ONLY: ToolAnnotations = { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false };

/** Ids and cursors as the REST API takes them: an id is text (no NUL, which no store keeps); a cursor a kind, an underscore and a ULID. */
export const ID = z.string().min(1).max(64).regex(/^[^\u0000]*$/, 'an id holds no NUL character');
const CURSOR = z.string().regex(/^[a-z]{3}_[0-9A-HJKMNP-TV-Z]{26}$/, 'a cursor is the next_cursor of an earlier page, exactly as given');
export const page = {
  limit: z.number().int().min(1).max(100).default(20).describe('How many to return, 1 to 100 (default 20).'),
  cursor: CURSOR.optional().describe('To read further: the next_cursor of the previous page. Leave it out for the first page.'),
};
export const NEXT = z.string().nullable().describe('Pass as cursor to get the next page; null when this was the last one.');
export const more = (next: string | null) => (next === null ? '' : ` More follow: call again with cursor "${next}".`);

/** How a listing tool puts a page in words for the model. */
export interface PageWords<T> {
  noun: [one: string, many: string];
  none: string;
  each: (item: T) => string;
  layout?: 'inline' | 'lines';
}

/**
 * A page as a listing tool's outcome: its rows under `key` with the cursor for the next page, and
 * in words how many of what, each row, and how to get the next.
 */
export function pageOutcome<K extends string, T, R = T>(
  key: K, page: { data: T[]; next_cursor: string | null }, words: PageWords<T>, row: (item: T) => R = (item) => item as unknown as R,
): ToolOutcome<Record<K, R[]> & { next_cursor: string | null }> {
  const { data, next_cursor } = page;
  const structured = { [key]: data.map(row), next_cursor } as Record<K, R[]> & { next_cursor: string | null };
  if (data.length === 0) return { structured, text: words.none + more(next_cursor) };
  const count = `${data.length} ${data.length === 1 ? words.noun[0] : words.noun[1]}`;
  const items = (words.layout ?? 'inline') === 'inline' ? `: ${data.map(words.each).join(', ')}.` : `, newest first:\n${data.map(words.each).join('\n')}`;
  return { structured, text: count + items + more(next_cursor) };
}

