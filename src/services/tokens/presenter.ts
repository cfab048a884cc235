import type { Manager } from '../../core/authority.js';
import type { PlanName } from '../../core/catalog.js';
import type { Clock } from '../../core/clock.js';
import { existingUserIds } from '../../store/accounts.js';
import { connectedAgentsOfTokens } from '../../store/oauth.js';
import type { TokenRecord } from '../../store/token-codec.js';
import type { DbOrTrx } from '../../store/tokens.js';
import type { UsageRecorder } from '../usage.js';
import { mentionedTokens, seenBy } from './disclosure.js';
import { toTokenView, type TokenView } from './token-view.js';

/** Token rows as their viewer may see them, last use and the agent an OAuth-issued one belongs to included. */
export class TokenPresenter {
  constructor(private readonly deps: { usage: UsageRecorder; clock: Clock }) {}

  async present(db: DbOrTrx, accountId: string, viewer: Manager, rows: readonly TokenRecord[], plan: PlanName): Promise<TokenView[]> {
    const seen = viewer.kind === 'person'
      ? null
      : await seenBy(db, accountId, viewer, mentionedTokens(rows.flatMap((row) => [row.created_by_type === 'token' ? row.created_by_id : null, row.revoke_reason])));
    // Only agent tokens can have come through OAuth; the others need no lookup.
    const agents = await connectedAgentsOfTokens(db, rows.filter((row) => row.type === 'mcp').map((row) => row.id));
    const people = await existingUserIds(db, accountId, rows.flatMap((row) => (row.created_by_type === 'user' && row.created_by_id !== null ? [row.created_by_id] : [])));
    const now = this.deps.clock.now();
    return rows.map((row) => toTokenView(this.deps.usage.overlay(row), plan, now, seen, agents.get(row.id) ?? null, people));
  }

  async one(db: DbOrTrx, accountId: string, viewer: Manager, row: TokenRecord, plan: PlanName): Promise<TokenView> {
    return (await this.present(db, accountId, viewer, [row], plan))[0]!;
  }
}
