import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { toMermaid, withDiagram } from '../../../state-machine/diagram';
import { synthesizeDefinition } from '../../../state-machine/synthesize';

describe('the state-machine diagram (docs/operations.md)', () => {
  it('is what `npm run diagram` generates from the synthesized definition (run it after changing the definition)', () => {
    const readme = readFileSync(path.resolve(import.meta.dirname, '../../../docs/operations.md'), 'utf8');
    expect(withDiagram(readme, toMermaid(synthesizeDefinition()))).toBe(readme);
  });

  it('draws every state, the Map iteration and the catch edges', () => {
    const definition = synthesizeDefinition();
    const diagram = toMermaid(definition);
    for (const name of Object.keys(definition.States)) expect(diagram).toContain(`"${name.replace(/[?]/g, '?')}"`);
    expect(diagram).toContain('subgraph');
    expect(diagram).toContain('-.->|error: States.ALL|');
    expect(diagram).toMatch(/each workspace, 3 at a time/);
  });
});
