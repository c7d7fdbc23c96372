/**
 * Typed topics. An application declares its topics once, as a map from pubsub.v1 patterns (protocol.md §4)
 * to payload types:
 *
 * ```ts
 * interface Topics {
 *   'chat.*': { user: string; text: string };   // chat.lobby, chat.42 ...
 *   'alerts.fire': string;
 *   'video.>': Uint8Array;                      // binary: video.cam1, video.cam1.hd ...
 * }
 * const client = createClient<Topics>({ url, token });
 * client.publish('chat.lobby', { user: 'ann', text: 'hi' });   // checked
 * client.subscribe('chat.*', (message) => message.data.text);  // typed
 * ```
 *
 * `publish` takes a topic matched by a declared pattern and that pattern's payload; `subscribe` takes any
 * pattern that can match a declared one and hands over the union of their payloads. Wildcards are checked
 * segment by segment with template literal types: `*` is one segment, `>` one or more trailing segments.
 * A topic built at run time as `` `chat.${room}` `` is checked as `chat.<some segment>`; a plain `string`
 * is accepted only by a map that declares `'>'` (the untyped default).
 *
 * Everything here is types only.
 */

/** The payload type of binary topics: bytes arrive as `Uint8Array` (a `Buffer` in Node). */
export type Binary = Uint8Array;

/** What publishing to a binary topic accepts: any `Uint8Array` (so a Node `Buffer`) or an `ArrayBuffer`. */
export type BinaryInput = Uint8Array | ArrayBuffer;

/**
 * A topic map: declared patterns to payload types. Any object type (an `interface` works: it needs no
 * index signature).
 */
export type TopicMap = object;

/** The map of a client that declared nothing: every topic, any payload. */
export interface UntypedTopics {
  /** `>` matches every topic, and `unknown` lets any JSON value or bytes through. */
  '>': unknown;
}

/** A pattern or topic split at its dots. A wide `string` stays one unknown segment. */
export type Segments<S extends string> = S extends `${infer Head}.${infer Rest}` ? [Head, ...Segments<Rest>] : [S];

/** Whether a declared pattern's segments match a concrete topic's (a wide segment matches only `*` and `>`). */
export type PatternMatchesTopic<Pattern extends readonly string[], Topic extends readonly string[]> = Pattern extends ['>', ...string[]]
  ? Topic extends [string, ...string[]]
    ? true
    : false
  : Pattern extends [infer P extends string, ...infer PatternRest extends string[]]
    ? Topic extends [infer T extends string, ...infer TopicRest extends string[]]
      ? P extends '*'
        ? PatternMatchesTopic<PatternRest, TopicRest>
        : [T] extends [P]
          ? PatternMatchesTopic<PatternRest, TopicRest>
          : false
      : false
    : Topic extends []
      ? true
      : false;

/** Whether two patterns can match a common topic (a wide segment may be anything). */
export type PatternsOverlap<A extends readonly string[], B extends readonly string[]> = A extends ['>', ...string[]]
  ? B extends [string, ...string[]]
    ? true
    : false
  : B extends ['>', ...string[]]
    ? A extends [string, ...string[]]
      ? true
      : false
    : A extends [infer AHead extends string, ...infer ARest extends string[]]
      ? B extends [infer BHead extends string, ...infer BRest extends string[]]
        ? SegmentsOverlap<AHead, BHead> extends true
          ? PatternsOverlap<ARest, BRest>
          : false
        : false
      : B extends []
        ? true
        : false;

type SegmentsOverlap<A extends string, B extends string> = A extends '*'
  ? true
  : B extends '*'
    ? true
    : [A] extends [B]
      ? true
      : [B] extends [A]
        ? true
        : false;

type DeclaredPatterns<Map extends TopicMap> = keyof Map & string;

/** A declared pattern as the template literal of the topics it matches: `chat.*` → `` `chat.${string}` ``. */
export type PatternTemplate<Pattern extends string> = Pattern extends `${infer Head}.${infer Rest}`
  ? `${SegmentTemplate<Head>}.${PatternTemplate<Rest>}`
  : SegmentTemplate<Pattern>;

type SegmentTemplate<Segment extends string> = Segment extends '*' | '>' ? string : Segment;

/** Every topic the map allows publishing to, as template literal types: unknown topics fail to compile. */
export type Topic<Map extends TopicMap> = { [Pattern in DeclaredPatterns<Map>]: PatternTemplate<Pattern> }[DeclaredPatterns<Map>];

/** The declared patterns that match `T` (a concrete topic, possibly a template literal type). */
export type PatternsForTopic<Map extends TopicMap, T extends string> = {
  [Pattern in DeclaredPatterns<Map>]: PatternMatchesTopic<Segments<Pattern>, Segments<T>> extends true ? Pattern : never;
}[DeclaredPatterns<Map>];

/** The declared patterns a subscription to `P` can receive messages of. */
export type PatternsForPattern<Map extends TopicMap, P extends string> = string extends P
  ? DeclaredPatterns<Map>
  : { [Pattern in DeclaredPatterns<Map>]: PatternsOverlap<Segments<Pattern>, Segments<P>> extends true ? Pattern : never }[DeclaredPatterns<Map>];

/**
 * The payload a publish to `T` must carry: every declared pattern that matches `T` applies, so their
 * payload types intersect (usually there is one). Binary payloads also accept an `ArrayBuffer`.
 */
export type PublishData<Map extends TopicMap, T extends string> = PublishInput<Intersect<Map, PatternsForTopic<Map, T>>>;

/** The payload a subscription to `P` receives: the union over the declared patterns it can overlap. */
export type SubscribeData<Map extends TopicMap, P extends string> = Map[PatternsForPattern<Map, P> & keyof Map];

/** `P` when a declared pattern can match it; otherwise a type whose only key names the problem. */
export type CheckPattern<Map extends TopicMap, P extends string> = [PatternsForPattern<Map, P>] extends [never]
  ? {
      /** The pattern the compiler refused: no declared pattern can match any topic it matches. */
      readonly 'error: no declared topic matches this pattern': P;
    }
  : P;

/** `T` when a declared pattern matches it segment by segment; otherwise a type whose only key names the problem. */
export type CheckTopic<Map extends TopicMap, T extends string> = [PatternsForTopic<Map, T>] extends [never]
  ? {
      /** The topic the compiler refused: no declared pattern matches it. */
      readonly 'error: no declared topic matches this topic': T;
    }
  : T;

/**
 * The parameter type that checks an argument: `Value` itself when `Check` accepted it, else `Check`'s error.
 * Written as a conditional on the type parameter (not an intersection) so that TypeScript still infers
 * `` `chat.${string}` `` for a template literal argument instead of widening it to `string`.
 */
export type Checked<Value extends string, Check> = Value extends Check ? Value : Check;

type PublishInput<Payload> = Payload extends Uint8Array ? Payload | ArrayBuffer : Payload;

/** Intersects `Map[K]` over the keys `K` without distributing over a payload that is itself a union. */
type Intersect<Map extends TopicMap, Keys extends keyof Map> = [Keys] extends [never]
  ? never
  : { [K in Keys]: (payload: Map[K]) => void }[Keys] extends (payload: infer Payload) => void
    ? Payload
    : never;

/**
 * The part of the Standard Schema interface (https://standardschema.dev, implemented by zod, valibot,
 * arktype ...) the SDK uses to validate payloads at run time. Validation must be synchronous.
 */
export interface PayloadSchema<Output = unknown> {
  /** The Standard Schema properties, under the key every implementation shares. */
  readonly '~standard': {
    /** The Standard Schema version: 1. */
    readonly version: 1;
    /** The library that made the schema, e.g. `zod`; for messages only. */
    readonly vendor: string;
    /** Checks a payload: its (possibly transformed) value, or the issues that refuse it. A promise is refused. */
    readonly validate: (value: unknown) => SchemaResult<Output> | Promise<SchemaResult<Output>>;
    /** Types only, never read at run time: where `TopicsOf` finds a schema's payload type. */
    readonly types?:
      | {
          /** The type the schema accepts. */
          readonly input: unknown;
          /** The type it produces: the payload type of its pattern. */
          readonly output: Output;
        }
      | undefined;
  };
}

/** What a {@link PayloadSchema} returns. */
export type SchemaResult<Output> =
  | { readonly value: Output; readonly issues?: undefined }
  | { readonly issues: ReadonlyArray<{ readonly message: string; readonly path?: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }> | undefined }> };

/** Optional schemas for (some of) a map's patterns; incoming payloads of matching topics are validated. */
export type SchemaMap<Map extends TopicMap> = { readonly [Pattern in keyof Map]?: PayloadSchema<Map[Pattern]> };

/** The topic map that a map of schemas declares: each pattern's payload is its schema's output. */
export type TopicsOf<Schemas extends Record<string, PayloadSchema>> = {
  -readonly [Pattern in keyof Schemas]: Schemas[Pattern] extends PayloadSchema<infer Output> ? Output : never;
};
