import { ApiError } from '../../src/core/errors.js';

/** The refusal `run` throws, as code, message and details; null when it throws nothing. */
export function refusal(run: () => unknown): { code: string; message: string; details: Record<string, unknown> | undefined } | null {
  try {
    run();
    return null;
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    return { code: error.code, message: error.message, details: error.details };
  }
}
