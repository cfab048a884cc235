/**
 * The people rule as an attacker meets it: random accounts (an owner and up to four others of
 * random roles, each signed in, and `users:full` tokens made by its owners and admins), then
 * random actors (any of those people or tokens) trying random changes on random people. After
 * every step, through the HTTP API alone: the account has an owner; only an owner in person, or
 * a token of a current owner, changed anything; no token made or unmade an owner; a refused change
 * changed nothing; each person's live session sees the role the list shows, and a removed
 * person's session is refused.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { addUser, asSession, bearer, createAccount, createToken, login, type Session } from '../helpers/actors.js';
import { shareApp } from '../helpers/fixtures.js';
import type { Harness } from '../helpers/harness.js';

let h: Harness;
shareApp({ app: (app) => void (h = app) });

type Role = 'owner' | 'admin' | 'member';
const ROLE = fc.constantFrom<Role>('owner', 'admin', 'member');

interface Person { session: Session; role: Role; removed: boolean }
interface Token { secret: string; creator: Person }

const step = fc.record({
  actor: fc.nat(),
  byToken: fc.boolean(),
  change: fc.oneof(
    fc.record({ kind: fc.constant('add' as const), role: ROLE }),
    fc.record({ kind: fc.constant('role' as const), target: fc.nat(), role: ROLE }),
    fc.record({ kind: fc.constant('remove' as const), target: fc.nat() }),
  ),
});

const reached = { allowed: 0, refusedNonOwner: 0, refusedToken: 0, lastOwner: 0, tokenChanged: 0, removedRefused: 0 };

describe('the people rule, whoever acts and on whomever', () => {
  it('keeps an owner, lets only owners change people, and no token touch ownership', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(ROLE, { maxLength: 4 }), fc.array(step, { minLength: 1, maxLength: 6 }), async (others, steps) => {
        const { accountId, ownerEmail } = await createAccount(h);
        const everyone: Person[] = [{ session: await login(h, ownerEmail), role: 'owner', removed: false }];
        for (const role of others) everyone.push({ session: await login(h, await addUser(h, accountId, role)), role, removed: false });
        const tokens: Token[] = [];
        for (const person of everyone.filter((each) => each.role !== 'member')) {
          tokens.push({ secret: (await createToken(h, asSession(person.session), { name: 'people', scopes: ['users:full'] })).secret, creator: person });
        }
        for (const { actor, byToken, change } of steps) {
          const live = everyone.filter((person) => !person.removed);
          const viaToken = byToken && tokens.length > 0;
          const token = tokens[actor % Math.max(tokens.length, 1)];
          const person = live[actor % live.length]!;
          const headers = viaToken ? bearer(token!.secret) : asSession(person.session);
          const actsAsOwner = viaToken ? token!.creator.role === 'owner' && !token!.creator.removed : person.role === 'owner';
          const target = change.kind === 'add' ? null : live[change.target % live.length]!;
          const ownersBefore = live.filter((each) => each.role === 'owner').length;
          const answer = change.kind === 'add'
            ? await h.request({ method: 'POST', url: '/v1/users', headers, payload: { email: `p-${Math.random().toString(36).slice(2)}@example.com`, role: change.role } })
            : change.kind === 'role'
              ? await h.request({ method: 'PATCH', url: `/v1/users/${target!.session.userId}`, headers, payload: { role: change.role } })
              : await h.request({ method: 'DELETE', url: `/v1/users/${target!.session.userId}`, headers });
          expect(answer.statusCode).toBeLessThan(500);
          const ok = answer.statusCode < 300;
          if (!actsAsOwner) {
            expect(ok, answer.body).toBe(false);
            reached[viaToken ? 'refusedToken' : 'refusedNonOwner'] += 1;
          }
          if (ok) {
            reached.allowed += 1;
            if (viaToken) reached.tokenChanged += 1;
            if (change.kind === 'add') {
              // Someone added signs in with the one-time password and chooses their own, as a person would before doing anything.
              const session = await login(h, answer.json().user.email, answer.json().password);
              const chosen = await h.request({ method: 'POST', url: '/v1/auth/password', headers: asSession(session), payload: { current_password: answer.json().password, new_password: 'a password of their own' } });
              expect(chosen.statusCode).toBe(200);
              everyone.push({ session, role: change.role, removed: false });
            }
            if (change.kind === 'role') target!.role = change.role;
            if (change.kind === 'remove') target!.removed = true;
          } else if (answer.statusCode === 409) {
            reached.lastOwner += 1;
          }
          const listed = (await h.request({ method: 'GET', url: '/v1/users', headers: asSession(everyone.find((each) => !each.removed && each.role === 'owner')!.session) })).json().data as { id: string; role: Role }[];
          const roles = new Map(listed.map((each) => [each.id, each.role]));
          expect([...roles.values()].filter((role) => role === 'owner').length).toBeGreaterThanOrEqual(1);
          if (viaToken) expect([...roles.values()].filter((role) => role === 'owner').length).toBe(ownersBefore);
          for (const each of everyone) {
            const seen = await h.request({ method: 'GET', url: '/v1/auth/session', headers: asSession(each.session) });
            if (each.removed) {
              expect(seen.statusCode).toBe(401);
              expect(roles.has(each.session.userId)).toBe(false);
              reached.removedRefused += 1;
            } else {
              expect(seen.json().user.role).toBe(each.role);
              expect(roles.get(each.session.userId)).toBe(each.role);
            }
          }
        }
      }),
      { numRuns: 60 },
    );
    console.log(`people property: ${JSON.stringify(reached)}`);
    // Most runs reach each of the assertions above, or the generators are not testing the rule.
    for (const [what, count] of Object.entries(reached)) expect(count, what).toBeGreaterThan(2);
  }, 120_000);
});
