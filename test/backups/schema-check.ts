/**
 * A small checker for the OpenAPI v3 subset CRDs use (type, nullable, properties, required,
 * items, additionalProperties, enum): enough to check the Velero Schedule we render against the
 * vendored subset of its CRD (velero-schedule.schema.json), without a JSON-schema package.
 * Unlike the API server (which prunes unknown fields silently), an unknown field is an error here.
 */
export interface Schema {
  type?: string;
  nullable?: boolean;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  additionalProperties?: Schema | boolean;
  enum?: unknown[];
}

function typeOf(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (typeof v === "number") return Number.isInteger(v) ? "integer" : "number";
  return typeof v;
}

export function checkSchema(value: unknown, schema: Schema, path = ""): string[] {
  const at = path || "<root>";
  if (value === null) return schema.nullable ? [] : [`${at}: null is not allowed`];
  const errors: string[] = [];
  const actual = typeOf(value);
  if (schema.type) {
    const ok = actual === schema.type || (schema.type === "number" && actual === "integer");
    if (!ok) return [`${at}: expected ${schema.type}, got ${actual}`];
  }
  if (schema.enum && !schema.enum.includes(value))
    errors.push(`${at}: ${JSON.stringify(value)} is not one of ${JSON.stringify(schema.enum)}`);
  if (actual === "array" && schema.items)
    (value as unknown[]).forEach((item, i) =>
      errors.push(...checkSchema(item, schema.items!, `${path}[${i}]`)),
    );
  if (actual === "object") {
    const obj = value as Record<string, unknown>;
    for (const key of schema.required ?? [])
      if (!(key in obj)) errors.push(`${at}: missing required field ${key}`);
    for (const [key, v] of Object.entries(obj)) {
      const p = path ? `${path}.${key}` : key;
      const sub = schema.properties?.[key];
      if (sub) errors.push(...checkSchema(v, sub, p));
      else if (typeof schema.additionalProperties === "object")
        errors.push(...checkSchema(v, schema.additionalProperties, p));
      else if (schema.properties && schema.additionalProperties !== true)
        errors.push(`${p}: unknown field (the CRD has no such property)`);
    }
  }
  return errors;
}
