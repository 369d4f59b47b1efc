/** Invariant violations are bugs: fail loudly and never continue with a broken log. */
export class InvariantError extends Error {
  override readonly name = 'InvariantError';
}

export function assert(cond: unknown, message: string): asserts cond {
  if (!cond) throw new InvariantError(message);
}
