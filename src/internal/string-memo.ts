/**
 * `answer` remembered for the few strings a server sees over and over (its clients' addresses, a
 * connection's peer on every call, the resource indicators clients send): `answer` must be a pure
 * function of the string. Bounded: only inputs up to `maxLength` characters are remembered, at most
 * `maxEntries` of them (emptied when full). An input `answer` throws for is never remembered.
 */
export function stringMemo<T>(answer: (input: string) => T, limits: { maxLength: number; maxEntries?: number }): (input: string) => T {
  const answers = new Map<string, T>();
  const maxEntries = limits.maxEntries ?? 1024;
  return (input) => {
    const known = answers.get(input);
    if (known !== undefined || answers.has(input)) return known as T;
    const value = answer(input);
    if (input.length <= limits.maxLength) {
      if (answers.size >= maxEntries) answers.clear();
      answers.set(input, value);
    }
    return value;
  };
}
