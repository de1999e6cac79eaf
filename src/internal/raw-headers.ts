/**
 * Every value of one header (its lower-case name) in a raw header list
 * (`[name, value, name, value, …]`, as Node gives it). Node's parsed headers
 * keep only the first of some repeated fields, `authorization` among them.
 */
export function rawHeaderValues(raw: readonly unknown[], name: string): string[] {
  const values: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const field = String(raw[i]);
    // Per request on the hot path: compare lengths before lower-casing.
    if (field.length === name.length && field.toLowerCase() === name) values.push(String(raw[i + 1]));
  }
  return values;
}
