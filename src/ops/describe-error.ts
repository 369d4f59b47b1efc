/** The errno-style code of an error or of its cause (ENOSPC, EACCES, ...), if any. */
export function errorCode(err: Error): string | undefined {
  return (err as NodeJS.ErrnoException).code ?? (err.cause as NodeJS.ErrnoException | undefined)?.code;
}

/** "ENOSPC: no space left on device" style: the code first, so a full disk is named at once. */
export function describeError(err: Error): string {
  const code = errorCode(err);
  return code && !err.message.startsWith(code) ? `${code}: ${err.message}` : err.message;
}
