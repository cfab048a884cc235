import type { ReactNode } from 'react';

/**
 * A table that scrolls sideways on a narrow screen: the scrolling box is a named region that
 * takes focus, so that it can be scrolled from the keyboard too.
 */
export function ScrollTable({ label, children }: { label: string; children: ReactNode }) {
  return <div className="table-wrap" tabIndex={0} role="region" aria-label={label}>{children}</div>;
}
