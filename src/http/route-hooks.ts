/** A route's own hooks of one kind (Fastify accepts one or several), as an array to add to. */
export const hooksOf = <T>(hooks: T | T[] | undefined): T[] => (hooks === undefined ? [] : Array.isArray(hooks) ? hooks : [hooks]);
