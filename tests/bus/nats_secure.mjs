// SPDX-License-Identifier: Apache-2.0
// Writes what a locked-down NATS deployment is made of, into <dir>: a throwaway CA with a server
// certificate (127.0.0.1) and a client certificate (clientAuth), and a decentralized-auth
// operator with one account and one user (NKeys and JWTs, as `nsc` makes them; Debian has no
// nsc), the user's .creds file, and a nats-server configuration that requires both TLS with a
// client certificate and the user's credentials.
//
//   node nats_secure.mjs <dir> <port>
//
// NKeys: a role prefix byte, the Ed25519 key, a CRC-16/XMODEM, base32 without padding. JWTs:
// header {typ: JWT, alg: ed25519-nkey}, signed by the issuer's NKey.
import crypto from 'node:crypto';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const [dir, port] = process.argv.slice(2);
fs.mkdirSync(dir, { recursive: true });
const file = (name) => path.join(dir, name);

// --- NKeys ---
const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
function base32(buf) {
  let bits = 0, value = 0, out = '';
  for (const byte of buf) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += B32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += B32[(value << (5 - bits)) & 31];
  return out;
}
function crc16(buf) {
  let crc = 0;
  for (const byte of buf) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}
function withCrc(raw) {
  const c = crc16(raw);
  return Buffer.concat([raw, Buffer.from([c & 0xff, c >> 8])]);
}
const PREFIX = { operator: 14 << 3, account: 0, user: 20 << 3, seed: 18 << 3 };

function nkey(role) {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ed25519');
  const pub = Buffer.from(publicKey.export({ format: 'jwk' }).x, 'base64url');
  const seed = Buffer.from(privateKey.export({ format: 'jwk' }).d, 'base64url');
  const p = PREFIX[role];
  return {
    privateKey,
    public: base32(withCrc(Buffer.concat([Buffer.from([p]), pub]))),
    seed: base32(withCrc(Buffer.concat([
      Buffer.from([PREFIX.seed | (p >> 5), (p & 31) << 3]), seed]))),
  };
}

function jwt(issuer, subject, name, nats) {
  const b64u = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const claims = { jti: '', iat: Math.floor(Date.now() / 1000), iss: issuer.public, name,
    sub: subject.public, nats: { ...nats, version: 2 } };
  claims.jti = base32(crypto.createHash('sha256').update(JSON.stringify(claims)).digest());
  const input = `${b64u({ typ: 'JWT', alg: 'ed25519-nkey' })}.${b64u(claims)}`;
  return `${input}.${crypto.sign(null, Buffer.from(input), issuer.privateKey).toString('base64url')}`;
}

const operator = nkey('operator');
const account = nkey('account');
const user = nkey('user');
const unlimited = { subs: -1, data: -1, payload: -1 };
const operatorJwt = jwt(operator, operator, 'dialtone-test', { type: 'operator' });
const accountJwt = jwt(operator, account, 'dialtone', {
  limits: { ...unlimited, imports: -1, exports: -1, wildcards: true, conn: -1, leaf: -1 },
  default_permissions: { pub: {}, sub: {} }, type: 'account' });
const userJwt = jwt(account, user, 'dialtoned', { pub: {}, sub: {}, ...unlimited, type: 'user' });
fs.writeFileSync(file('dialtoned.creds'), `-----BEGIN NATS USER JWT-----
${userJwt}
------END NATS USER JWT------

************************* IMPORTANT *************************
NKEY Seed printed below can be used to sign and prove identity.
NKEYs are sensitive and should be treated as secrets.

-----BEGIN USER NKEY SEED-----
${user.seed}
------END USER NKEY SEED------

*************************************************************
`, { mode: 0o600 });

// --- Certificates (the openssl command line) ---
const openssl = (...args) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
  '-keyout', file('ca.key'), '-out', file('ca.pem'), '-days', '2', '-subj', '/CN=NATS test CA');
for (const [name, usage, san] of [['server', 'serverAuth', 'IP:127.0.0.1'],
  ['client', 'clientAuth', 'DNS:dialtoned']]) {
  openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', file(`${name}.key`), '-out', file(`${name}.csr`), '-subj', `/CN=${name}`);
  fs.writeFileSync(file(`${name}.ext`), `extendedKeyUsage=${usage}\nsubjectAltName=${san}\n`);
  openssl('x509', '-req', '-in', file(`${name}.csr`), '-CA', file('ca.pem'), '-CAkey',
    file('ca.key'), '-CAcreateserial', '-out', file(`${name}.pem`), '-days', '2',
    '-extfile', file(`${name}.ext`));
  fs.chmodSync(file(`${name}.key`), 0o600);
}
fs.unlinkSync(file('ca.key'));

fs.writeFileSync(file('nats.conf'), `listen: "127.0.0.1:${port}"
tls {
  cert_file: "${file('server.pem')}"
  key_file: "${file('server.key')}"
  ca_file: "${file('ca.pem')}"
  verify: true
  timeout: 2
}
operator: "${operatorJwt}"
resolver: MEMORY
resolver_preload: {
  ${account.public}: "${accountJwt}"
}
`);
console.log('WRITTEN');
