/**
 * What every check of the OAuth core returns: a value, or a refusal the endpoint answers with as
 * an OAuth error response (`error`, `error_description`). Nothing here throws at a client.
 */
export type OAuthErrorCode =
  | 'invalid_request' | 'invalid_grant' | 'invalid_target' | 'invalid_client' | 'invalid_redirect_uri' | 'invalid_scope'
  | 'unsupported_response_type' | 'unsupported_grant_type' | 'unauthorized_client' | 'access_denied';

export interface Refusal<Code extends OAuthErrorCode = OAuthErrorCode> {
  readonly ok: false;
  readonly error: Code;
  /**
   * Fixed text, never the value refused: RFC 6749 allows only printable ASCII without `"` and `\`
   * here, and a value may be a secret (a verifier) or whatever an attacker wants shown.
   */
  readonly description: string;
}

export type Outcome<Value, Code extends OAuthErrorCode> = ({ readonly ok: true } & Value) | Refusal<Code>;

export const refuse = <Code extends OAuthErrorCode>(error: Code, description: string): Refusal<Code> => ({ ok: false, error, description });
