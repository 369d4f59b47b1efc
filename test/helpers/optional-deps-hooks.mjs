// Module resolve hook of test/helpers/optional-deps.mjs (runs on Node's loader thread).
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** Ferry's optionalDependencies (package.json). */
const OPTIONAL = ['@azure/storage-blob', '@azure/identity'];
let fallbackParent = '';

export function initialize(data) {
  fallbackParent = pathToFileURL(join(data.toolsDir, 'azure-sdk', 'package.json')).href;
}

export async function resolve(specifier, context, next) {
  try {
    return await next(specifier, context);
  } catch (err) {
    const optional = OPTIONAL.some((p) => specifier === p || specifier.startsWith(`${p}/`));
    if (!optional || err?.code !== 'ERR_MODULE_NOT_FOUND') throw err;
    try {
      return await next(specifier, { ...context, parentURL: fallbackParent });
    } catch {
      throw err;
    }
  }
}
