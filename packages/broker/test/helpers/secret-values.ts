import { randomBytes } from 'node:crypto';
import { type OptionKey, options } from '../../src/config/config.js';
import { loadConfig } from '../../src/config/load-config.js';
import type { AnyOptionRecord } from '../../src/config/option.js';
import type { SecretKind } from '../../src/config/option-secret.js';

/**
 * Values for the options whose records are marked `secret`, each built around a random canary that no output
 * may show: the secrets tests search everything the broker prints for it. The options come from the records,
 * so marking a new option `secret` puts it under test; the values come from the shapes its kind takes, split
 * by the option's own validation into the ones it refuses (bad: the error must not quote them) and the ones
 * it accepts (good: a running broker must not print them).
 */

export interface SecretOption {
  readonly key: OptionKey;
  readonly record: AnyOptionRecord & { readonly secret: SecretKind };
  /** Random, unique to this option: the part of every value that must never be printed. */
  readonly canary: string;
  /** Values (as env or flag text) its validation refuses. */
  readonly bad: readonly string[];
  /** Values it accepts; the password of a URL among them is `canary`. */
  readonly good: readonly string[];
}

/**
 * The shapes of each kind, around `canary` (with `redis` as host:port where an address is needed). For
 * `url-password` only the password is secret, so the canary is only ever the password.
 */
const shapes: Record<SecretKind, (canary: string, redis: string) => string[]> = {
  whole: (canary) => [canary, `${canary}-${canary}`, `${canary} ${canary}`],
  'url-password': (canary, redis) => [
    `redis://:${canary}@${redis}`,
    `redis://default:${canary}@${redis}/0`,
    `redis://${redis}/?password=${canary}`,
    `http://user:${canary}@${redis}`,
    `user:${canary}@${redis}`,
    `rediss://user:${canary}@`,
  ],
};

/** Every secret option with its values; `redis` is the address URL-shaped values point at. */
export function secretOptions(redis = '127.0.0.1:6390'): SecretOption[] {
  return (Object.entries(options) as [OptionKey, AnyOptionRecord][]).flatMap(([key, record]) => {
    const { secret } = record;
    if (secret === undefined) return [];
    const canary = `sbleak${randomBytes(8).toString('hex')}`;
    const values = shapes[secret](canary, redis);
    const accepted = (text: string) => {
      try {
        loadConfig({ env: { [record.env]: text }, argv: [] });
        return true;
      } catch {
        return false;
      }
    };
    return [{ key, record: { ...record, secret }, canary, bad: values.filter((text) => !accepted(text)), good: values.filter(accepted) }];
  });
}

/**
 * The canaries `output` shows, whole or in part: any 10 consecutive characters of a canary's random part
 * count, so a secret cut short or with a prefix stripped is caught too.
 */
export function leakedCanaries(output: string, secrets: readonly SecretOption[]): string[] {
  return secrets.flatMap(({ key, canary }) => {
    const random = canary.slice('sbleak'.length);
    for (let at = 0; at + 10 <= random.length; at++) {
      if (output.includes(random.slice(at, at + 10))) return [`${key} (${canary})`];
    }
    return [];
  });
}
