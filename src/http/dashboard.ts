import { existsSync } from 'node:fs';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import helmet from '@fastify/helmet';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/**
 * The dashboard is a static single-page app talking only to the public JSON API. Its pages get a
 * strict Content-Security-Policy: no inline script, nothing from elsewhere, no framing.
 */
export const DASHBOARD_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * The API reference (Swagger UI, its assets served from here) shares the dashboard's origin, so
 * it gets as strict a policy; its renderer sets styles inline, and draws icons as data: images.
 */
export const DOCS_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const API_PREFIXES = ['/v1/', '/admin/', '/docs', '/openapi.json', '/metrics', '/healthz', '/readyz'];

export async function installDashboard(app: FastifyInstance, dir: string): Promise<{ served: boolean }> {
  // Headers that matter for every response; the CSP is set on the dashboard's own files below.
  // No page is ever framed, not even by this origin: the consent screen must not be clickjacked,
  // and browsers without frame-ancestors know only X-Frame-Options.
  await app.register(helmet, { contentSecurityPolicy: false, crossOriginEmbedderPolicy: false, hsts: false, frameguard: { action: 'deny' } });
  const index = join(dir, 'index.html');
  if (!existsSync(index)) return { served: false };
  await app.register(fastifyStatic, {
    root: dir,
    prefix: '/',
    wildcard: false,
    index: ['index.html'],
    setHeaders: (res, path) => {
      res.setHeader('content-security-policy', DASHBOARD_CSP);
      // Hashed asset names never change; the HTML must always be fetched afresh.
      res.setHeader('cache-control', path.endsWith('.html') ? 'no-cache' : 'public, max-age=31536000, immutable');
    },
  });
  return { served: true };
}

/** Unknown paths outside the API are the dashboard's own routes (/tokens/…): answer with its HTML. */
export function isDashboardRoute(request: FastifyRequest): boolean {
  const path = request.url.split('?')[0]!;
  return request.method === 'GET' && !API_PREFIXES.some((prefix) => path.startsWith(prefix)) && !path.includes('.');
}

export function sendDashboard(reply: FastifyReply): FastifyReply {
  return reply.header('content-security-policy', DASHBOARD_CSP).header('cache-control', 'no-cache').sendFile('index.html');
}
