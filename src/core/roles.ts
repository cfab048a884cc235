/** Who a person is in an account: owners and admins may hold tokens (by configuration), members use the platform. */
export const ROLES = ['owner', 'admin', 'member'] as const;
export type Role = (typeof ROLES)[number];

/** Who can act, as the audit log and a token's `created_by` name them. */
export const ACTOR_TYPES = ['user', 'token', 'operator', 'system'] as const;
export type ActorType = (typeof ACTOR_TYPES)[number];
