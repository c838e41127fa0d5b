import { writeFileSync } from 'node:fs';
import { synthesizeDefinition } from './synthesize';

/** `npm run definition`: writes the synthesized ASL to definition.asl.json, which local runs execute without loading the CDK (asl.ts). */
const file = new URL('./definition.asl.json', import.meta.url);
writeFileSync(file, `${JSON.stringify(synthesizeDefinition(), null, 2)}\n`);
console.log(`wrote ${file.pathname}`);
