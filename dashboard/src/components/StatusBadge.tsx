import { inWords, sentence } from '../format';

const LABELS = { active: 'Active', paused: 'Paused', expired: 'Expired', revoked: 'Revoked' } as const;

export function StatusBadge({ status }: { status: keyof typeof LABELS }) {
  return <span className={`badge badge-${status}`}>{LABELS[status]}</span>;
}

export function ErrorText({ error, field }: { error: { message: string; field?: string | undefined } | null; field?: string }) {
  if (!error || (field !== undefined && error.field !== field && !error.field?.startsWith(`${field}.`))) return null;
  return <p className="error" role="alert">{field === undefined ? sentence(error.message) : inWords(error)}</p>;
}
