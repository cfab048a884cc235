import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

describe('LATCHKEY_MCP_ALLOWED_ORIGINS', () => {
  it('allows no browser origin by default', () => {
    expect(loadConfig({}).mcp).toEqual({ allowedOrigins: [] });
  });

  it('reads a comma-separated list of origins as browsers send them', () => {
    const config = loadConfig({ LATCHKEY_MCP_ALLOWED_ORIGINS: 'https://Agents.Example.com/, http://localhost:5173 ,https://app.example.com:443' });
    expect(config.mcp.allowedOrigins).toEqual(['https://agents.example.com', 'http://localhost:5173', 'https://app.example.com']);
  });

  it.each(['agents.example.com', 'https://example.com/path', 'https://example.com?x=1', 'https://user@example.com', 'null', '*'])('refuses %s, which is not an origin', (value) => {
    expect(() => loadConfig({ LATCHKEY_MCP_ALLOWED_ORIGINS: value })).toThrow(ConfigError);
    expect(() => loadConfig({ LATCHKEY_MCP_ALLOWED_ORIGINS: value })).toThrow(/LATCHKEY_MCP_ALLOWED_ORIGINS: .* is not an origin/);
  });
});
