import { isIP } from 'node:net';
import type { FastifyRequest } from 'fastify';
import type { Config } from '../config.js';

export const MCP_PATH = '/mcp';

/** A Host header that is plainly a host (and port): anything else is not echoed into a URL. */
const HOST = /^[A-Za-z0-9.-]{1,253}(:\d{1,5})?$|^\[[0-9A-Fa-f:.]{2,45}\](:\d{1,5})?$/;

/**
 * The origin clients reach this server at: `LATCHKEY_PUBLIC_URL` when set (what a deployment
 * behind a proxy must say), else the request's own scheme and host. It is the OAuth issuer, and
 * `/mcp` under it is the one resource tokens are issued for.
 */
export function publicBaseOf(request: FastifyRequest, config: Config): string {
  if (config.publicUrl !== null) return config.publicUrl;
  // The pattern lets through what no URL holds (port 99999, `[::::]`): the parser must read it too, or every URL built on it throws.
  const host = HOST.test(request.host) && URL.canParse(`${request.protocol}://${request.host}`) ? request.host : `${isIP(config.host) === 6 ? `[${config.host}]` : config.host}:${config.port}`;
  return `${request.protocol}://${host}`;
}

/** The canonical URL of `/mcp`: the one resource (audience) tokens are issued for. */
export const mcpResourceOf = (request: FastifyRequest, config: Config): string => `${publicBaseOf(request, config)}${MCP_PATH}`;
