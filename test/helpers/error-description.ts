import { expect } from 'vitest';

/** RFC 6749 section 5.2: an error_description is printable ASCII without `"` and `\`. */
export function describesSafely(description: string): void {
  expect(description).toMatch(/^[\x20\x21\x23-\x5b\x5d-\x7e]+$/);
}
