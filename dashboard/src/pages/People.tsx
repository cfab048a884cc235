import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { api, ApiError, http, type Person, type Session } from '../api';
import { ScrollTable } from '../components/ScrollTable';
import { ConfirmDialog } from '../components/Dialog';
import { SecretReveal } from '../components/SecretReveal';
import { day, sentence } from '../format';

const ROLES = ['owner', 'admin', 'member'] as const;
type Role = (typeof ROLES)[number];
const ROLE_WORDS: Record<Role, string> = {
  owner: 'Owner: everything, people included',
  admin: 'Admin: tokens and the platform, sees people',
  member: 'Member: uses the platform',
};

const errorText = (e: unknown, fallback: string) => (e instanceof ApiError ? sentence(e.message) : fallback);

/** Adding someone: their one-time password is shown once, here, to hand over. */
function AddPerson({ onAdded }: { onAdded: () => void }) {
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<Role>('member');
  const [error, setError] = useState<{ field: string | null; message: string } | null>(null);
  const [added, setAdded] = useState<{ email: string; password: string } | null>(null);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setError(null);
    try {
      const answer = await api(() => http.POST('/v1/users', { body: { email, role } }));
      setAdded({ email: answer.user.email, password: answer.password });
      setEmail('');
      onAdded();
    } catch (e) {
      setError({ field: e instanceof ApiError ? e.field ?? null : null, message: errorText(e, 'Could not add this person.') });
    }
  };
  return (
    <section aria-labelledby="add-title" className="form">
      <h2 id="add-title">Add someone</h2>
      {added && (
        <SecretReveal secret={added.password} name={added.email} title={`Give ${added.email} their one-time password`} label="One-time password"
          warning="This is the only time it is shown. They choose their own password when they first sign in." />
      )}
      <form onSubmit={submit}>
        <label>
          Email
          <input type="email" autoComplete="off" value={email} onChange={(e) => setEmail(e.target.value)} required
            aria-invalid={error?.field === 'email'} aria-describedby={error?.field === 'email' ? 'email-error' : undefined} />
          {error?.field === 'email' && <span className="error" role="alert" id="email-error">{error.message}</span>}
        </label>
        <div className="field">
          <label htmlFor="new-person-role">Role</label>
          <select id="new-person-role" value={role} onChange={(e) => setRole(e.target.value as Role)}>
            {ROLES.map((each) => <option key={each} value={each}>{ROLE_WORDS[each]}</option>)}
          </select>
        </div>
        {error && error.field !== 'email' && <p className="error" role="alert">{error.message}</p>}
        <div className="actions"><button type="submit" className="primary">Add person</button></div>
      </form>
    </section>
  );
}

/** The people of the account: owners change them, admins see them. */
export function People({ session }: { session: Session }) {
  const [people, setPeople] = useState<Person[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [removing, setRemoving] = useState<Person | null>(null);
  const isOwner = session.user.role === 'owner';

  const load = useCallback(() => {
    api(() => http.GET('/v1/users')).then((answer) => setPeople(answer.data), (e) => setError(errorText(e, 'Could not load the people of this account.')));
  }, []);
  useEffect(load, [load]);

  const changeRole = async (person: Person, role: Role) => {
    setError(null);
    try {
      await api(() => http.PATCH('/v1/users/{id}', { params: { path: { id: person.id } }, body: { role } }));
    } catch (e) {
      setError(errorText(e, 'Could not change the role.'));
    }
    load();
  };
  const remove = async (person: Person) => {
    setRemoving(null);
    try {
      await api(() => http.DELETE('/v1/users/{id}', { params: { path: { id: person.id } } }));
    } catch (e) {
      setError(errorText(e, 'Could not remove this person.'));
    }
    load();
  };
  const close = useCallback(() => setRemoving(null), []);

  return (
    <main>
      <h1>People</h1>
      <p className="hint">{isOwner ? 'Everyone who can sign in to this account. A change applies at their next click; someone removed is signed out at once.' : 'Everyone who can sign in to this account. Only owners change people.'}</p>
      {error && <p className="error" role="alert">{error}</p>}
      {!people && !error && <p aria-live="polite">Loading…</p>}
      {people && (
        <ScrollTable label="People">
          <table>
            <thead>
              <tr><th scope="col">Person</th><th scope="col">Role</th><th scope="col">Added</th>{isOwner && <th scope="col"><span className="visually-hidden">Actions</span></th>}</tr>
            </thead>
            <tbody>
              {people.map((person) => {
                const self = person.id === session.user.id;
                return (
                  <tr key={person.id}>
                    <td>
                      <bdi>{person.name}</bdi>{self && ' (you)'}
                      <span className="hint"><bdi>{person.email}</bdi>{person.password_change_required && ' · has not chosen a password yet'}</span>
                    </td>
                    <td>
                      {isOwner
                        ? (
                          <select aria-label={`Role of ${person.email}`} value={person.role} onChange={(e) => void changeRole(person, e.target.value as Role)}>
                            {ROLES.map((each) => <option key={each} value={each}>{each}</option>)}
                          </select>
                        )
                        : person.role}
                    </td>
                    <td>{day(person.created_at)}</td>
                    {isOwner && (
                      <td><button type="button" className="danger" onClick={() => setRemoving(person)} aria-label={`Remove ${person.email}`}>Remove</button></td>
                    )}
                  </tr>
                );
              })}
            </tbody>
          </table>
        </ScrollTable>
      )}
      {isOwner && <AddPerson onAdded={load} />}
      {removing && (
        <ConfirmDialog
          title={<>Remove <bdi>{removing.email}</bdi>?</>}
          body={<p>They are signed out at once and can no longer sign in; AI agents they connected are disconnected. The tokens they created stay with the account.</p>}
          confirm="Remove"
          danger
          onConfirm={() => remove(removing)}
          onClose={close}
        />
      )}
    </main>
  );
}
