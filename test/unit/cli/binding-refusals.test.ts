import { describe, expect, it } from 'vitest';
import { bindingRefusals, type CheckedBinding, type RegisteredBinding } from '../../../cli/bindings';

const URL = 'https://send.example.com';
const row = (name: string, recordedId: number | null, extra: Partial<RegisteredBinding> = {}): RegisteredBinding => ({
  name,
  baseUrl: URL,
  recordedId,
  active: true,
  ...extra,
});
const bound = (name: string, id: number, boundName: string, extra: Partial<CheckedBinding> = {}): CheckedBinding => ({
  name,
  baseUrl: URL,
  binding: { status: 'bound', id, name: boundName },
  ...extra,
});

describe('which keys the CLI refuses to register (bindingRefusals)', () => {
  it('accepts a key that reads a workspace no other row holds', () => {
    expect(bindingRefusals([row('Beta', 2)], [bound('Acme', 1, 'Acme Outbound')])).toEqual([]);
  });

  it('refuses a key that reads another workspace than the row states, or than the row already records', () => {
    expect(bindingRefusals([], [bound('Acme', 2, 'Beta Co', { statedId: 1 })])).toEqual([
      '"Acme": its key reads EmailBison workspace 2 "Beta Co", but the row says EmailBison workspace 1',
    ]);
    expect(bindingRefusals([row('Acme', 1)], [bound('Acme', 2, 'Beta Co')])).toHaveLength(1);
    // Stating the new id re-points the row deliberately.
    expect(bindingRefusals([row('Acme', 1)], [bound('Acme', 2, 'Beta Co', { statedId: 2 })])).toEqual([]);
  });

  it('refuses a key that reads a workspace another active row of the same instance holds', () => {
    expect(bindingRefusals([row('Beta', 2)], [bound('Acme', 2, 'Beta Co')])).toEqual([
      '"Acme": its key reads EmailBison workspace 2 "Beta Co", which registered workspace "Beta" already holds',
    ]);
    expect(bindingRefusals([row('Beta', 2, { active: false })], [bound('Acme', 2, 'Beta Co')])).toEqual([]);
    expect(bindingRefusals([row('Beta', 2, { baseUrl: 'https://other.example.com' })], [bound('Acme', 2, 'Beta Co')])).toEqual([]);
    expect(bindingRefusals([row('Beta', 2, { baseUrl: `${URL}/` })], [bound('Acme', 2, 'Beta Co')])).toHaveLength(1);
  });

  it('refuses two keys of one import that read the same workspace', () => {
    expect(bindingRefusals([], [bound('Acme', 2, 'Beta Co'), bound('Beta', 2, 'Beta Co')])).toEqual([
      '"Acme" and "Beta": both keys read EmailBison workspace 2 "Beta Co"',
    ]);
  });

  it('lets a key whose binding is unknown through: the run checks it again', () => {
    expect(
      bindingRefusals([row('Beta', 2)], [{ name: 'Acme', baseUrl: URL, statedId: 1, binding: { status: 'unknown', reason: 'HTTP 404' } }]),
    ).toEqual([]);
  });
});
