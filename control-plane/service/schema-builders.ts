/**
 * The few JSON-schema pieces every API's schemas are made of (admin, tenant REST and gRPC
 * mapping, quotas, the OpenAPI problem body): scalar types, a response object whose members are
 * all present, a closed request body, a nullable variant. Response schemas also drive fastify's
 * serializer, which throws on a missing required member: `record` is only for objects that
 * always carry every member; others list what they always carry (`object`).
 */

export const string = { type: "string" } as const;
export const integer = { type: "integer" } as const;
export const number = { type: "number" } as const;
export const boolean = { type: "boolean" } as const;

type Properties = Record<string, object>;

/** A response object that always carries every member it lists. */
export const record = <P extends Properties>(properties: P, description?: string) => ({
  type: "object" as const,
  ...(description === undefined ? {} : { description }),
  properties,
  required: Object.keys(properties) as (keyof P & string)[],
});

/** A response object that always carries `required` (the other members may be absent). */
export const object = <P extends Properties>(properties: P, required: readonly (keyof P & string)[]) => ({
  type: "object" as const,
  properties,
  required,
});

export interface BodyOptions {
  /** members a request must give */
  required?: readonly string[];
  description?: string;
  /** at least this many members (a patch with nothing in it is refused) */
  minProperties?: number;
}

/** A request body or query: no member beyond `properties` (additionalProperties: false). */
export const closed = <P extends Properties>(properties: P, options: BodyOptions = {}) => ({
  type: "object" as const,
  additionalProperties: false as const,
  ...options,
  properties,
});

/** The same schema that also allows null. */
export const orNull = <T extends { type: string }>(schema: T) =>
  ({ ...schema, type: [schema.type, "null"] }) as const;
