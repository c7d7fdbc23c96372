/**
 * Type tests of `client.rpc`, checked by `tsc -b` (never run): the method map types each call's data and
 * answer. Every `@ts-expect-error` must be an error.
 */
import { type Client, createClient } from '../../src/index.js';

interface Methods {
  'cart.add': { data: { sku: string; quantity: number }; result: { items: number } };
  'time.now': { data: null; result: number };
}

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
type Expect<T extends true> = T;

declare const client: Client<Record<string, unknown>, unknown, Methods>;

const added = client.rpc('cart.add', { sku: 'A-1', quantity: 2 });
export type AddedIsTyped = Expect<Equal<typeof added, Promise<{ items: number }>>>;
void client.rpc('time.now', null, { timeoutMs: 500 });
// @ts-expect-error: a method the map does not have
void client.rpc('cart.remove', { sku: 'A-1' });
// @ts-expect-error: data of the wrong shape
void client.rpc('cart.add', { sku: 'A-1' });

const untyped = createClient({ url: 'ws://127.0.0.1:1/', autoConnect: false });
const anything = untyped.rpc('any.method', { free: 'form' });
export type UntypedIsUnknown = Expect<Equal<typeof anything, Promise<unknown>>>;
