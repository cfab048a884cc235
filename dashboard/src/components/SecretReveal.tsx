import { useState } from 'react';

/** The one time a secret is visible. It lives in this component's props only: leave the page and it is gone. */
export function SecretReveal({ secret, name, title = 'Copy your token now', label = 'Token', warning = 'This is the only time it is shown. Latchkey keeps only a hash: if you lose it, rotate the token to get a new one.' }: {
  secret: string;
  name: string;
  title?: string;
  label?: string;
  warning?: string;
}) {
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    await navigator.clipboard.writeText(secret);
    setCopied(true);
  };
  const download = () => {
    const url = URL.createObjectURL(new Blob([`${secret}\n`], { type: 'text/plain' }));
    const link = document.createElement('a');
    link.href = url;
    link.download = `${name.replace(/[^a-z0-9-_]+/gi, '-').slice(0, 60) || 'token'}.txt`;
    link.click();
    URL.revokeObjectURL(url);
  };
  return (
    <section className="secret" aria-labelledby="secret-title">
      <h2 id="secret-title">{title}</h2>
      <p className="warning" role="alert">{warning}</p>
      <label>
        {label}
        <input readOnly value={secret} data-testid="secret" onFocus={(e) => e.currentTarget.select()} />
      </label>
      <div className="actions">
        <button type="button" className="primary" onClick={() => void copy()}>{copied ? 'Copied' : 'Copy'}</button>
        <button type="button" onClick={download}>Download .txt</button>
      </div>
    </section>
  );
}
