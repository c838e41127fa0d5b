import { describe, expect, it } from 'vitest';
import { fromSecret, isSupabaseDirectHost, sslOptions } from '../../../lambdas/db/client';

describe('the database secret', () => {
  it('takes an RDS-managed secret (username and password only) with the host, port and database configured', () => {
    expect(
      fromSecret({ username: 'app', password: 'pw' }, { host: 'db.abc.eu-west-1.rds.amazonaws.com', port: 6432, database: 'sync' }),
    ).toEqual({
      host: 'db.abc.eu-west-1.rds.amazonaws.com',
      port: 6432,
      database: 'sync',
      username: 'app',
      password: 'pw',
    });
  });

  it('uses the configured place over the secret, and the secret where nothing is configured', () => {
    const secret = { host: 'secret-host', port: '5433', username: 'app', password: 'pw', dbname: 'secret-db' };
    expect(fromSecret(secret, { host: 'proxy-host' })).toMatchObject({ host: 'proxy-host', port: 5433, database: 'secret-db' });
    expect(fromSecret(secret)).toMatchObject({ host: 'secret-host', port: 5433, database: 'secret-db' });
  });

  it('names every missing part, and where the host can be given, without the password', () => {
    const error = (() => {
      try {
        fromSecret({ username: '', password: 'hunter2' } as never);
      } catch (caught) {
        return caught as Error & { code: string };
      }
    })();
    expect(error).toMatchObject({ name: 'DatabaseConfigError', code: 'SS_DATABASE_CONFIG' });
    expect(error?.message).toContain('lacks host (an RDS-managed secret holds only username and password: set DATABASE_HOST');
    expect(error?.message).toContain('username');
    expect(error?.message).not.toContain('hunter2');
  });
});

describe('TLS options', () => {
  it('disable sends no TLS; require encrypts without verifying', () => {
    expect(sslOptions('disable', 'db.example.com')).toBe(false);
    expect(sslOptions('require', 'db.example.com')).toBe('require');
  });

  it('verify-full rejects unverified chains, uses the given CA, and checks the configured host', () => {
    const options = sslOptions('verify-full', 'db.example.com', 'PEM');
    expect(options).toMatchObject({ rejectUnauthorized: true, ca: 'PEM' });
    const check = (options as { checkServerIdentity(name: string, cert: object): Error | undefined }).checkServerIdentity;
    const cert = { subject: { CN: 'db.example.com' }, subjectaltname: 'DNS:db.example.com' };
    expect(check('ignored', cert)).toBeUndefined();
    expect(check('ignored', { subject: { CN: 'other.example.com' }, subjectaltname: 'DNS:other.example.com' })).toMatchObject({
      code: 'ERR_TLS_CERT_ALTNAME_INVALID',
    });
  });

  it("verify-full without a CA keeps Node's root store (and NODE_EXTRA_CA_CERTS)", () => {
    expect(sslOptions('verify-full', 'db.example.com')).not.toHaveProperty('ca');
  });
});

describe('Supabase hosts', () => {
  it("recognises the IPv6-only direct host, not the pooler's", () => {
    expect(isSupabaseDirectHost('db.abcdefghijklmnop.supabase.co')).toBe(true);
    expect(isSupabaseDirectHost('aws-0-eu-west-1.pooler.supabase.com')).toBe(false);
  });
});
