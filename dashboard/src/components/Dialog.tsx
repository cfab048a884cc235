import { useEffect, useId, useRef, type ReactNode } from 'react';

/** A modal dialog: labelled, traps nothing but takes focus, and closes on Escape. */
export function Dialog({ title, children, onClose }: { title: ReactNode; children: ReactNode; onClose: () => void }) {
  const titleId = useId();
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const previous = document.activeElement as HTMLElement | null;
    ref.current?.querySelector<HTMLElement>('input, button, select, textarea')?.focus();
    const onKey = (event: KeyboardEvent) => event.key === 'Escape' && onClose();
    document.addEventListener('keydown', onKey);
    return () => {
      document.removeEventListener('keydown', onKey);
      previous?.focus();
    };
  }, [onClose]);
  return (
    <div className="backdrop">
      <div className="dialog" role="dialog" aria-modal="true" aria-labelledby={titleId} ref={ref}>
        <h2 id={titleId}>{title}</h2>
        {children}
      </div>
    </div>
  );
}

export function ConfirmDialog(props: { title: ReactNode; body: ReactNode; confirm: string; danger?: boolean; onConfirm: () => Promise<void>; onClose: () => void }) {
  return (
    <Dialog title={props.title} onClose={props.onClose}>
      <div>{props.body}</div>
      <div className="actions">
        <button type="button" onClick={props.onClose}>Cancel</button>
        <button type="button" className={props.danger ? 'danger' : 'primary'} onClick={() => void props.onConfirm()}>
          {props.confirm}
        </button>
      </div>
    </Dialog>
  );
}
