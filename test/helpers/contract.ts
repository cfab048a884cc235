import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { LightMyRequestResponse } from 'fastify';

/**
 * Every response a test receives, held to the served OpenAPI document: its status must be one the
 * operation documents, its media type one that status offers, and a JSON body must match that
 * status's schema, with no property the schema does not name. A response the document would not
 * predict fails the test that received it, so the document cannot drift from the API.
 */
export interface ContractChecker {
  problemsOf(method: string, url: string, response: LightMyRequestResponse): string[];
}

interface Operation { responses?: Record<string, { content?: Record<string, { schema?: unknown }> }> }
interface OpenApiDocument { paths: Record<string, Record<string, Operation>>; components?: { schemas?: Record<string, unknown> } }

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;
const DOCUMENT_ID = 'latchkey-openapi';

/** Templated paths, literal ones first, so `/v1/tokens/verify` would beat `/v1/tokens/{id}`. */
function matchersOf(document: OpenApiDocument): { template: string; pattern: RegExp }[] {
  return Object.keys(document.paths)
    .sort((a, b) => (a.match(/\{/g)?.length ?? 0) - (b.match(/\{/g)?.length ?? 0))
    .map((template) => ({
      template,
      pattern: new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\\?\{[^}]+\\?\}/g, '[^/]+')}$`),
    }));
}

/** The schema as the tests hold it: an object that names its properties names all it may have. */
function closed(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(closed);
  if (schema === null || typeof schema !== 'object') return schema;
  const copy: Record<string, unknown> = Object.fromEntries(Object.entries(schema).map(([key, value]) => [key, key === 'properties' ? Object.fromEntries(Object.entries(value as object).map(([name, inner]) => [name, closed(inner)])) : closed(value)]));
  if (copy.properties && copy.additionalProperties === undefined) copy.additionalProperties = false;
  return copy;
}

const pointer = (...parts: string[]) => parts.map((part) => encodeURIComponent(part.replace(/~/g, '~0').replace(/\//g, '~1'))).join('/');

export function contractChecker(document: OpenApiDocument): ContractChecker {
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addSchema(closed({ $id: DOCUMENT_ID, paths: document.paths, components: document.components }) as object);
  const matchers = matchersOf(document);
  const compiled = new Map<string, ValidateFunction>();

  return {
    problemsOf(method, url, response) {
      const path = url.split('?')[0]!;
      const template = matchers.find((m) => m.pattern.test(path))?.template;
      const verb = method.toLowerCase();
      const operation = template ? document.paths[template]![verb] : undefined;
      // Paths the API does not have (404s, the dashboard, the docs) have no operation to hold to.
      if (!operation || !template) return [];
      const status = String(response.statusCode);
      const documented = operation.responses?.[status];
      const where = `${method} ${template} → ${status}`;
      if (!documented) return [`${where} is not a documented status (documented: ${Object.keys(operation.responses ?? {}).join(', ')})`];
      const media = String(response.headers['content-type'] ?? '').split(';')[0]!.trim();
      if (!documented.content) return response.body === '' ? [] : [`${where} documents no body but one came: ${response.body.slice(0, 200)}`];
      if (!(media in documented.content)) return [`${where} answered ${media || 'no content type'}; documented: ${Object.keys(documented.content).join(', ')}`];
      if (media !== 'application/json') return [];
      const key = pointer('paths', template, verb, 'responses', status, 'content', media, 'schema');
      let validate = compiled.get(key);
      if (!validate) {
        validate = ajv.compile({ $ref: `${DOCUMENT_ID}#/${key}` });
        compiled.set(key, validate);
      }
      let body: unknown;
      try {
        body = JSON.parse(response.body);
      } catch {
        return [`${where} is not JSON: ${response.body.slice(0, 200)}`];
      }
      if (validate(body)) return [];
      return (validate.errors ?? []).map((e) => `${where}: ${e.instancePath || '(body)'} ${e.message}${e.params && 'additionalProperty' in e.params ? ` '${String(e.params.additionalProperty)}'` : ''}`);
    },
  };
}
