import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSql, type SslMode } from '../../../lambdas/db/client';
import { createLambdaRuntime } from '../../../lambdas/runtime/production';
import { atFileEnd, tempDir } from '../../helpers/cleanup';

/*
 * DATABASE_SSL against a real Postgres that speaks TLS: a throwaway server (initdb in a
 * temp directory, ssl = on) with a certificate for "localhost" signed by a CA made here.
 * The shared test cluster has no TLS, and is not ours to reconfigure.
 */

const BIN = '/usr/lib/postgresql/15/bin';
const available = existsSync(path.join(BIN, 'initdb')) && hasOpenssl();
const asRoot = process.getuid?.() === 0;

function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Runs a Postgres binary as a user it accepts (initdb and postgres refuse root). */
function pg(command: string, args: string[]): void {
  // runuser is in /usr/sbin, which a non-login root shell's PATH may lack.
  const runuser = ['/usr/sbin/runuser', '/sbin/runuser'].find((candidate) => existsSync(candidate)) ?? 'runuser';
  const [file, argv] = asRoot ? [runuser, ['-u', 'postgres', '--', path.join(BIN, command), ...args]] : [path.join(BIN, command), args];
  execFileSync(file, argv, { stdio: 'ignore' });
}

function openssl(dir: string, ...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
}

function newCa(dir: string, name: string): void {
  openssl(
    dir,
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.pem`,
    '-days',
    '2',
    '-subj',
    `/CN=${name}`,
  );
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe.skipIf(!available)('Postgres TLS (a throwaway TLS server)', () => {
  let dir: string;
  let port: number;

  /** A Lambda runtime set to verify the TLS Postgres against the CA file of that name. */
  function verifyingLambda(caFile: string) {
    return createLambdaRuntime({
      DATABASE_URL: `postgres://postgres@localhost:${port}/postgres`,
      DATABASE_SSL: 'verify-full',
      DATABASE_CA_FILE: path.join(dir, caFile),
      LOG_LEVEL: 'ERROR',
    });
  }
  let ca: string;
  let otherCa: string;
  const opened: { end(): Promise<void> }[] = [];

  beforeAll(async () => {
    dir = tempDir('ss-tls-');
    if (asRoot) execFileSync('chown', ['-R', 'postgres', dir]);
    newCa(dir, 'ca');
    newCa(dir, 'other-ca');
    writeFileSync(path.join(dir, 'san.cnf'), 'subjectAltName=DNS:localhost\n');
    openssl(
      dir,
      'req',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      'server.key',
      '-out',
      'server.csr',
      '-subj',
      '/CN=localhost',
    );
    openssl(
      dir,
      'x509',
      '-req',
      '-in',
      'server.csr',
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      'server.pem',
      '-days',
      '2',
      '-extfile',
      'san.cnf',
    );
    ca = readFileSync(path.join(dir, 'ca.pem'), 'utf8');
    otherCa = readFileSync(path.join(dir, 'other-ca.pem'), 'utf8');

    const data = path.join(dir, 'data');
    if (asRoot) execFileSync('chown', ['-R', 'postgres', dir]);
    pg('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
    port = await freePort();
    writeFileSync(
      path.join(data, 'postgresql.auto.conf'),
      [
        `port = ${port}`,
        "listen_addresses = 'localhost'",
        `unix_socket_directories = '${dir}'`,
        'ssl = on',
        `ssl_cert_file = '${path.join(dir, 'server.pem')}'`,
        `ssl_key_file = '${path.join(dir, 'server.key')}'`,
        'fsync = off',
      ].join('\n'),
    );
    pg('pg_ctl', ['-D', data, '-l', path.join(dir, 'server.log'), '-w', '-t', '60', 'start']);
    atFileEnd(() => pg('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']));
  });

  afterAll(async () => {
    await Promise.all(opened.map((sql) => sql.end()));
  });

  function connect(ssl: SslMode, host: string, caPem?: string) {
    const sql = createSql({ url: `postgres://postgres@${host}:${port}/postgres`, ssl, ca: caPem, max: 1, connectTimeoutSeconds: 10 });
    opened.push(sql);
    return sql;
  }

  async function failure(promise: Promise<unknown>): Promise<{ code?: string; message: string }> {
    const error = await promise.then(
      () => undefined,
      (caught: unknown) => caught as { code?: string; message: string },
    );
    if (!error) throw new Error('expected the connection to be refused');
    return error;
  }

  it('verify-full with the signing CA connects over TLS to the host the certificate names', async () => {
    const sql = connect('verify-full', 'localhost', ca);
    const [row] = await sql<{ ssl: boolean }[]>`select ssl from pg_stat_ssl where pid = pg_backend_pid()`;
    expect(row.ssl).toBe(true);
  });

  it('verify-full refuses a certificate another CA signed', async () => {
    const error = await failure(connect('verify-full', 'localhost', otherCa)`select 1`);
    expect(error.code).toMatch(/UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_GET_ISSUER_CERT/);
  });

  it("verify-full without a CA bundle trusts only Node's public roots, so a private CA is refused", async () => {
    const error = await failure(connect('verify-full', 'localhost')`select 1`);
    expect(error.code).toMatch(/UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_GET_ISSUER_CERT/);
  });

  it('verify-full checks the host name, an IP address included', async () => {
    // The certificate names only "localhost": 127.0.0.1 is the same server under a name it does not carry.
    const error = await failure(connect('verify-full', '127.0.0.1', ca)`select 1`);
    expect(error.code).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
  });

  it('require encrypts without verifying: a certificate of an unknown CA is accepted', async () => {
    const sql = connect('require', '127.0.0.1', otherCa);
    const [row] = await sql<{ ssl: boolean }[]>`select ssl from pg_stat_ssl where pid = pg_backend_pid()`;
    expect(row.ssl).toBe(true);
  });

  it('a Lambda configured with DATABASE_SSL=verify-full and DATABASE_CA_FILE verifies with that file', async () => {
    const good = verifyingLambda('ca.pem');
    const deps = await good.deps();
    opened.push(deps.sql);
    const [row] = await deps.sql<{ ssl: boolean }[]>`select ssl from pg_stat_ssl where pid = pg_backend_pid()`;
    expect(row.ssl).toBe(true);

    const wrong = verifyingLambda('other-ca.pem');
    const wrongDeps = await wrong.deps();
    opened.push(wrongDeps.sql);
    await expect(wrongDeps.sql`select 1`).rejects.toMatchObject({ code: expect.stringMatching(/VERIFY|SELF_SIGNED|ISSUER/) });
  });

  it('a missing DATABASE_CA_FILE is a configuration error naming the file', async () => {
    const runtime = verifyingLambda('absent.pem');
    await expect(runtime.deps()).rejects.toMatchObject({
      name: 'DatabaseConfigError',
      message: expect.stringContaining('absent.pem (ENOENT)'),
    });
  });
});
