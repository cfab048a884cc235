import { Ajv, type Options } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';

// ajv-formats is CommonJS; under NodeNext its default export arrives wrapped.
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

const shared: Options = { removeAdditional: false, useDefaults: true, allErrors: false };

/**
 * JSON bodies are validated as sent: a number is not a string and a string is not a one-element
 * array. Query strings and path parameters are text by nature, so they are coerced.
 */
const strict = addFormats(new Ajv({ ...shared, coerceTypes: false }));
const coercing = addFormats(new Ajv({ ...shared, coerceTypes: true }));

export const validatorCompiler: FastifySchemaCompiler<object> = ({ schema, httpPart }) =>
  (httpPart === 'body' ? strict : coercing).compile(schema);
