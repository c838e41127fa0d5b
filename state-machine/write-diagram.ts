import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { toMermaid, withDiagram } from './diagram';
import { synthesizeDefinition } from './synthesize';

/** `npm run diagram`: regenerates the README's state-machine picture from the definition CDK synthesizes. */
const readmePath = path.resolve(import.meta.dirname, '../README.md');
const readme = await readFile(readmePath, 'utf8');
const updated = withDiagram(readme, toMermaid(synthesizeDefinition()));
if (updated === readme) console.log('README.md diagram is up to date');
else {
  await writeFile(readmePath, updated);
  console.log('README.md diagram regenerated');
}
