/** The operating system's reason a file could not be read, e.g. ` (ENOENT)`, for an operator's error message. */
export function osReason(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return typeof code === "string" && /^E[A-Z]+$/.test(code) ? ` (${code})` : "";
}
