import { Ajv, type Options, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { FastifySchemaCompiler, FastifySchemaValidationError } from 'fastify';
import { displayTextProblem, type DisplayText } from '../core/display-text.js';

// ajv-formats is CommonJS; under NodeNext its default export arrives wrapped.
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

const shared: Options = { removeAdditional: false, useDefaults: true, allErrors: false };

/**
 * JSON bodies are validated as sent: a number is not a string and a string is not a one-element
 * array. Query strings and path parameters are text by nature, so they are coerced.
 */
/**
 * An RFC 3339 date-time that is also an instant: ajv-formats accepts a leap second (`23:59:60`),
 * which no clock here can compare, so such a text is refused as malformed rather than failing later.
 */
const isInstant = (text: string): boolean => !Number.isNaN(Date.parse(text));

/**
 * `x-display: 'name' | 'text'` on a string shown to people: it must read as stored (see
 * `core/display-text.ts`), and a name must show something. The refusal names the field and why.
 */
function withDisplayText(ajv: Ajv): Ajv {
  ajv.addKeyword({
    keyword: 'x-display',
    type: 'string',
    schemaType: 'string',
    errors: true,
    validate: function check(kind: DisplayText, text: string) {
      const problem = displayTextProblem(text, kind);
      (check as unknown as { errors: unknown[] }).errors = problem ? [{ keyword: 'x-display', message: problem, params: {} }] : [];
      return problem === null;
    },
  });
  return ajv;
}

function withFormats(ajv: Ajv): Ajv {
  withDisplayText(ajv);
  addFormats(ajv);
  const rfc3339 = ajv.formats['date-time'] as { validate: (text: string) => boolean } | ((text: string) => boolean);
  const valid = typeof rfc3339 === 'function' ? rfc3339 : rfc3339.validate;
  ajv.addFormat('date-time', { type: 'string', validate: (text: string) => valid(text) && isInstant(text) });
  return ajv;
}

const strict = withFormats(new Ajv({ ...shared, coerceTypes: false }));
const coercing = withFormats(new Ajv({ ...shared, coerceTypes: true }));

type Validate = ((data: unknown) => boolean) & { errors?: FastifySchemaValidationError[] | null };

/**
 * ajv coerces a query text such as `1e309` to Infinity and then skips `minimum`/`maximum` for a
 * number that is not finite, so Infinity would reach the store. Text from a URL is refused here
 * when it became a number that no bound can hold.
 */
function finiteNumbersOnly(validate: ValidateFunction): Validate {
  const checked: Validate = (data) => {
    if (!validate(data)) {
      checked.errors = validate.errors ?? null;
      return false;
    }
    for (const [field, value] of Object.entries(data as Record<string, unknown>)) {
      const values = Array.isArray(value) ? value : [value];
      if (values.some((item) => typeof item === 'number' && !Number.isFinite(item))) {
        checked.errors = [{ instancePath: `/${field}`, schemaPath: '', keyword: 'type', params: {}, message: 'must be a finite number' }];
        return false;
      }
    }
    checked.errors = null;
    return true;
  };
  return checked;
}

export const validatorCompiler: FastifySchemaCompiler<object> = ({ schema, httpPart }) =>
  httpPart === 'body' ? strict.compile(schema) : finiteNumbersOnly(coercing.compile(schema));
