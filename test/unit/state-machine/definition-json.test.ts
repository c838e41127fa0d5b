import { describe, expect, it } from 'vitest';
import { GENERATED_DEFINITION, GENERATED_MAP_CONCURRENCY } from '../../../state-machine/asl';
import { validated } from '../../../state-machine/local-runner';
import { synthesizeDefinition } from '../../../state-machine/synthesize';

describe('the generated definition local runs execute (state-machine/definition.asl.json)', () => {
  it('is what the CDK code synthesizes now (else: npm run definition)', () => {
    expect(GENERATED_DEFINITION).toEqual(synthesizeDefinition({ mapConcurrency: GENERATED_MAP_CONCURRENCY }));
  });

  it("passes the local runner's validation (schema, JSONPaths, ARNs, no locally ignored field), which runs skip for it", () => {
    expect(() => validated(structuredClone(GENERATED_DEFINITION))).not.toThrow();
  });
});
