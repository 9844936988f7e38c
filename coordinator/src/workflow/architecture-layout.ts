import { architectureFromName } from '@lgefed/shared/model/architecture-name';
import { parameterLayout } from '@lgefed/shared/model/weights';

/**
 * Why `tensors` are not exactly the layout `architecture` defines (every tensor's name and shape,
 * in order), or null when they are. Checked on an upload's manifest before any weights arrive and on
 * every returned model before it counts.
 */
export function layoutProblem(tensors: readonly { readonly name: string; readonly shape: readonly number[] }[], architecture: string): string | null {
  let expected: { name: string; shape: readonly number[] }[];
  try {
    expected = parameterLayout(architectureFromName(architecture));
  } catch (err) {
    return (err as Error).message;
  }
  if (tensors.length !== expected.length) return `${tensors.length} tensors, ${architecture} has ${expected.length}`;
  for (const [i, t] of tensors.entries()) {
    const want = expected[i]!;
    if (t.name !== want.name || t.shape.join() !== want.shape.join()) return `tensor ${i} as ${t.name} [${t.shape.join(', ')}], ${architecture} defines ${want.name} [${want.shape.join(', ')}]`;
  }
  return null;
}
