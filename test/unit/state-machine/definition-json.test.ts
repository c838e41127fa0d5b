import { describe, expect, it } from 'vitest';
import { GENERATED_DEFINITION, GENERATED_MAP_CONCURRENCY } from '../../../state-machine/asl';
import { synthesizeDefinition } from '../../../state-machine/synthesize';

describe('the generated definition local runs execute (state-machine/definition.asl.json)', () => {
  it('is what the CDK code synthesizes now (else: npm run definition)', () => {
    expect(GENERATED_DEFINITION).toEqual(synthesizeDefinition({ mapConcurrency: GENERATED_MAP_CONCURRENCY }));
  });
});
