import { describe, expect, it } from 'vitest';
import { planCutOver } from '../../../cli/commands/client-registry';
import { plan } from '../../../cli/commands/discover';
import { addInstanceMapping } from '../../../cli/instance-labels';
import { instanceUrl, registrationName } from '../../../cli/onboarding';
import type { Workspace } from '../../../lambdas/workspaces/registry';

const BASE = 'https://send.example.com';

function registered(fields: Partial<Workspace> & { name: string }): Workspace {
  return { id: 1, baseUrl: BASE, emailbisonWorkspaceId: null, apiKeyRef: `file:${fields.name}`, active: true, ...fields };
}

function registryRow(name: string, key: string | null, fields: Record<string, unknown> = {}) {
  return { workspace_name: name, bison_workspace_id: '7', bison_instance: BASE, bison_api_key: key, is_active: true, ...fields };
}

describe('workspaces discover: the plan', () => {
  it('skips a workspace registered with its EmailBison id on the same instance (case and a trailing /api aside), whatever its name', () => {
    const rows = [registered({ name: 'Acme (ours)', baseUrl: 'HTTPS://send.example.com/api', emailbisonWorkspaceId: 3 })];
    const entries = plan(
      [
        { id: 3, name: 'Acme' },
        { id: 4, name: 'Birch' },
      ],
      rows,
      BASE,
    );
    expect(entries.map((e) => [e.name, e.action])).toEqual([
      ['Acme (ours)', 'already_registered'],
      ['Birch', 'would_register'],
    ]);
  });

  it('registers a workspace of the same id on another instance, and never under a name another row holds', () => {
    const rows = [registered({ name: 'Acme', baseUrl: 'https://other.example.com', emailbisonWorkspaceId: 3 })];
    const entries = plan(
      [
        { id: 3, name: 'acme' },
        { id: 9, name: 'Acme' },
      ],
      rows,
      BASE,
    );
    expect(entries.map((e) => [e.name, e.action])).toEqual([
      ['acme (EmailBison 3)', 'would_register'],
      ['Acme (EmailBison 9)', 'would_register'],
    ]);
  });

  it('names a workspace without control characters, within 200 characters, and one with no name by its id', () => {
    const taken = new Set<string>();
    expect(registrationName('  Line\nbreak\u0007 Co  ', 1, taken)).toBe('Line break Co');
    expect([...registrationName('x'.repeat(500), 2, taken)]).toHaveLength(200);
    expect(registrationName('\u0000 ', 5, taken)).toBe('EmailBison workspace 5');
  });
});

describe('workspaces import --from-client-registry: the plan', () => {
  it('imports active rows with keys, lists rows with no key, leaves inactive rows alone', () => {
    const result = planCutOver([
      registryRow('Acme', 'key-a'),
      registryRow('Birch', null),
      registryRow('Cedar', '   '),
      registryRow('Old', 'key-old', { is_active: false }),
      registryRow('Dunmore', 'key-d', { is_active: null, bison_workspace_id: null }),
    ]);
    expect(result.problems).toEqual([]);
    expect(result.rows).toEqual([
      { name: 'Acme', baseUrl: BASE, instanceLabel: null, emailbisonId: 7, apiKey: 'key-a' },
      { name: 'Dunmore', baseUrl: BASE, instanceLabel: null, emailbisonId: null, apiKey: 'key-d' },
    ]);
    expect(result.noKey).toEqual(['Birch', 'Cedar']);
    expect(result.inactive).toEqual(['Old']);
  });

  it('refuses a key found on several rows (inactive ones too), naming the rows and never the key', () => {
    const result = planCutOver([registryRow('Acme', 'shared-admin'), registryRow('Birch', 'shared-admin', { is_active: false })]);
    expect(result.rows).toEqual([]);
    expect(result.problems).toHaveLength(1);
    expect(result.problems[0]).toContain('rows "Acme", "Birch" hold one and the same key');
    expect(result.problems.join(' ')).not.toContain('shared-admin');
  });

  it('refuses rows it cannot register, saying which field, without their keys', () => {
    const result = planCutOver([
      registryRow('Acme', 'key-1', { bison_instance: 'ftp://send.example.com' }),
      registryRow('Birch', 'key-2', { bison_workspace_id: 'seven' }),
      registryRow('birch', 'key-3'),
      registryRow('', 'key-4'),
    ]);
    expect(result.problems).toEqual([
      '"Acme": bison_instance is not an EmailBison label, host or URL',
      '"Birch": bison_workspace_id is not a whole number',
      '"birch": the name appears on two active rows',
      'row 4 (no workspace_name): no workspace_name',
    ]);
    expect(result.problems.join(' ')).not.toMatch(/key-\d/);
  });

  it("maps bison_instance labels by --instance, case and spaces aside, and records the row's label", () => {
    const instances = addInstanceMapping('LongRun=https://longrun.example/api/', addInstanceMapping('Maverick=https://maverick.example'));
    const result = planCutOver(
      [
        registryRow('Acme', 'key-a', { bison_instance: 'Maverick' }),
        registryRow('Birch', 'key-b', { bison_instance: 'Long Run' }),
        registryRow('Cedar', 'key-c', { bison_instance: 'long run ' }),
        registryRow('Dunmore', 'key-d'),
      ],
      instances,
    );
    expect(result.problems).toEqual([]);
    expect(result.rows.map((r) => [r.name, r.baseUrl, r.instanceLabel])).toEqual([
      ['Acme', 'https://maverick.example', 'Maverick'],
      ['Birch', 'https://longrun.example', 'Long Run'],
      ['Cedar', 'https://longrun.example', 'long run'],
      ['Dunmore', BASE, null],
    ]);
  });

  it('refuses a label with no --instance, once per label, naming its rows and how to map it', () => {
    const result = planCutOver(
      [
        registryRow('Acme', 'key-a', { bison_instance: 'Maverick' }),
        registryRow('Birch', 'key-b', { bison_instance: 'Long Run' }),
        registryRow('Cedar', 'key-c', { bison_instance: 'Long Run' }),
        registryRow('Old', 'key-o', { bison_instance: 'Retired', is_active: false }),
      ],
      addInstanceMapping('maverick=https://maverick.example'),
    );
    expect(result.rows.map((r) => r.name)).toEqual(['Acme']);
    expect(result.problems).toEqual([
      `bison_instance "Long Run" (rows "Birch", "Cedar") has no URL: map it with --instance 'Long Run=https://…'`,
    ]);
  });

  it('takes --instance as LABEL=http(s) URL, one URL a label', () => {
    expect([...addInstanceMapping(' Long Run = https://send.example.com/ ')]).toEqual([
      ['longrun', { label: 'Long Run', baseUrl: 'https://send.example.com' }],
    ]);
    for (const bad of [
      'Long Run',
      '=https://send.example.com',
      ' =https://x.example',
      'Long Run=',
      'Long Run=ftp://x.example',
      'Long Run=x.example',
    ]) {
      expect(() => addInstanceMapping(bad), bad).toThrow(expect.objectContaining({ code: 'SS_USAGE' }));
    }
    const first = addInstanceMapping('Long Run=https://a.example');
    expect(addInstanceMapping('longrun=https://a.example/', first).size).toBe(1);
    expect(() => addInstanceMapping('LONG RUN=https://b.example', first)).toThrow(/another URL already/);
  });

  it('reads bison_instance as a URL or a bare host, without /api or a trailing slash', () => {
    expect(instanceUrl('dedi.emailbison.com')).toBe('https://dedi.emailbison.com');
    expect(instanceUrl('https://send.example.com/api/')).toBe('https://send.example.com');
    expect(instanceUrl('http://127.0.0.1:4010')).toBe('http://127.0.0.1:4010');
    expect(instanceUrl('ftp://send.example.com')).toBeUndefined();
    expect(instanceUrl(null)).toBeUndefined();
  });
});
