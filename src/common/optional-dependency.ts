/**
 * Optional npm dependencies (package.json "optionalDependencies"): the Azure SDK packages
 * @azure/identity and @azure/storage-blob declare Node >= 22, so npm installs them on Node 22+
 * and skips them, without a warning, on Node 20 (and with --omit=optional). Ferry loads them only
 * where they are used; a missing one is a MissingDependencyError that says why and what to do.
 *
 * Their modules' `import type`s and `import()`s carry `// @ts-ignore` so Ferry also compiles where
 * they are absent (their types are then `any`); wherever they are installed the SDK's own types apply.
 */

export class MissingDependencyError extends Error {
  readonly code = 'MISSING_DEPENDENCY';
  constructor(readonly packageName: string, readonly neededFor: string) {
    super(`${neededFor} needs the npm package ${packageName}, which is not installed: it is an optional dependency `
      + `that npm installs on Node >= 22 only (this is Node ${process.versions.node}), and not with --omit=optional. `
      + 'Run Ferry on Node 22 or later and run npm ci again.');
    this.name = 'MissingDependencyError';
  }
}

function isNotFound(err: unknown, packageName: string): boolean {
  const e = err as { code?: string; message?: string } | null;
  return (e?.code === 'ERR_MODULE_NOT_FOUND' || e?.code === 'MODULE_NOT_FOUND') && (e.message ?? '').includes(packageName);
}

/** `load()` (a literal `import('pkg')`), or a MissingDependencyError when pkg is not installed. */
export async function importOptional<T>(packageName: string, neededFor: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (err) {
    if (isNotFound(err, packageName)) throw new MissingDependencyError(packageName, neededFor);
    throw err;
  }
}
