import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { TOOL_SCOPES, TOOLS } from '../../src/mcp/tools.js';

const doc = readFileSync(new URL('../../docs/mcp.md', import.meta.url), 'utf8');

describe('docs/mcp.md', () => {
  it('lists every tool with the scope each token type needs, as the tool table says', () => {
    const table = doc.slice(doc.indexOf('<!-- mcp-tools -->'), doc.indexOf('<!-- /mcp-tools -->'));
    const rows = [...table.matchAll(/^\| `([a-z_]+)` \| (`[a-z_:]+`|no) \| (`[a-z_:]+`|no) \|/gm)].map(([, name, mcp, message]) => [name, mcp, message]);
    const scope = (s: string | undefined) => (s === undefined ? 'no' : `\`${s}\``);
    expect(rows).toEqual(TOOLS.map((tool) => {
      const row = TOOL_SCOPES[tool.name] as { mcp?: string; message?: string };
      return [tool.name, scope(row.mcp), scope(row.message)];
    }));
  });

  it('gives the commands and configuration an agent needs', () => {
    expect(doc).toContain('claude mcp add --transport http latchkey https://latchkey.example.com/mcp --header "Authorization: Bearer lk_mcp_…"');
    for (const [, json] of doc.matchAll(/```json\n([\s\S]*?)```/g)) expect(() => JSON.parse(json!)).not.toThrow();
  });
});
