import { hash, verify, Algorithm } from '@node-rs/argon2';

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  verify(stored: string, password: string): Promise<boolean>;
  /** Spends the same time as a real check, so that an unknown email answers no faster. */
  burn(password: string): Promise<void>;
}

export function argon2Hasher(cost: { memoryCost: number; timeCost: number }): PasswordHasher {
  const options = { algorithm: Algorithm.Argon2id, memoryCost: cost.memoryCost, timeCost: cost.timeCost, parallelism: 1 };
  let decoy: Promise<string> | null = null;
  return {
    hash: (password) => hash(password, options),
    verify: async (stored, password) => {
      try {
        return await verify(stored, password);
      } catch {
        return false;
      }
    },
    burn: async (password) => {
      decoy ??= hash('decoy password that never matches', options);
      await verify(await decoy, password).catch(() => false);
    },
  };
}
