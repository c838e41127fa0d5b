import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { toMermaid, withDiagram } from './diagram';
import { synthesizeDefinition } from './synthesize';

/** `npm run diagram`: regenerates the state-machine picture in docs/operations.md from the definition CDK synthesizes. */
const readmePath = path.resolve(import.meta.dirname, '../docs/operations.md');
const readme = await readFile(readmePath, 'utf8');
const updated = withDiagram(readme, toMermaid(synthesizeDefinition()));
if (updated === readme) console.log('docs/operations.md diagram is up to date');
else {
  await writeFile(readmePath, updated);
  console.log('docs/operations.md diagram regenerated');
}
