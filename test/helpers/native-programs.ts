/**
 * Paths of the native test programs that binding.gyp builds into build/Release (see binding.gyp), resolved from
 * the compiled test file (.out/test/helpers/ → the package root), and of the committed test vectors.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const packageRoot = fileURLToPath(new URL('../../../', import.meta.url));

/** The committed C test vectors (source tree, not .out). */
export const cVectorsDir = join(packageRoot, 'test', 'vectors', 'c');

/** Absolute path of build/Release/<name>; throws a sentence telling how to build it when it is missing. */
export function nativeProgram(name: string): string {
  const path = join(packageRoot, 'build', 'Release', name);
  if (!existsSync(path)) {
    throw new Error(`The native test program '${name}' is not built (expected ${path}); run \`npm install\` first.`);
  }
  return path;
}
