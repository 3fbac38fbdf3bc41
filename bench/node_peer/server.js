// The peer for bench/token_endpoint.py --peer: node-oidc-provider issuing RFC 9068-style JWT
// access tokens with client_credentials, one client_secret_basic client, one resource server,
// and (with --pkjwt-client-id and --pkjwt-jwk-file) one private_key_jwt client whose RS256 public
// key is the JWK in that file.
//
//   node server.js --port 8080 --workers 2 --client-id ID --client-secret SECRET \
//       [--pkjwt-client-id ID2 --pkjwt-jwk-file public.jwk.json]
//
// Node's cluster module runs --workers processes that share one listening socket (the primary
// accepts and hands out connections round-robin, Node's default on Linux), to match gunicorn's
// --workers. The RS256 signing key is generated once in the primary and given to every worker,
// so any worker's tokens verify against the same JWKS. Listens on 127.0.0.1 only.
import cluster from 'node:cluster';
import { generateKeyPairSync } from 'node:crypto';
import { parseArgs } from 'node:util';

const { values: options } = parseArgs({
  options: {
    port: { type: 'string' },
    workers: { type: 'string', default: '2' },
    'client-id': { type: 'string' },
    'client-secret': { type: 'string' },
    'pkjwt-client-id': { type: 'string' },
    'pkjwt-jwk-file': { type: 'string' },
  },
});
if (!options.port || !options['client-id'] || !options['client-secret']) {
  console.error('usage: node server.js --port PORT [--workers N] --client-id ID --client-secret SECRET');
  process.exit(2);
}
const port = Number(options.port);
const issuer = `http://127.0.0.1:${port}`;
const audience = `${issuer}/api/demo/`;

if (cluster.isPrimary) {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'bench-rs256', use: 'sig', alg: 'RS256' };
  const workers = Math.max(1, Number(options.workers));
  let ready = 0;
  for (let i = 0; i < workers; i += 1) {
    const worker = cluster.fork({ BENCH_SIGNING_JWK: JSON.stringify(jwk) });
    worker.on('message', (message) => {
      if (message === 'listening') {
        ready += 1;
        if (ready === workers) console.log(`peer listening on ${issuer}/ with ${workers} workers`);
      }
    });
  }
  // A worker that dies is not replaced: the benchmark should fail rather than measure a restart.
  cluster.on('exit', (worker, code, signal) => {
    console.error(`worker ${worker.process.pid} exited (${signal || code})`);
  });
  const stop = () => {
    for (const worker of Object.values(cluster.workers)) worker.process.kill('SIGTERM');
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
} else {
  const { default: Provider } = await import('oidc-provider');
  const { readFileSync } = await import('node:fs');
  const signingKey = JSON.parse(process.env.BENCH_SIGNING_JWK);
  const pkjwtClients = options['pkjwt-client-id'] ? [{
    client_id: options['pkjwt-client-id'],
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: 'private_key_jwt',
    token_endpoint_auth_signing_alg: 'RS256',
    jwks: { keys: [JSON.parse(readFileSync(options['pkjwt-jwk-file'], 'utf8'))] },
    scope: 'read:demo',
  }] : [];

  const provider = new Provider(issuer, {
    jwks: { keys: [signingKey] },
    clients: [{
      client_id: options['client-id'],
      client_secret: options['client-secret'],
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
      scope: 'read:demo',
    }, ...pkjwtClients],
    scopes: ['read:demo'],
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => audience,
        useGrantedResource: () => true,
        getResourceServerInfo(ctx, resourceIndicator) {
          if (resourceIndicator !== audience) throw new Provider.errors.InvalidTarget();
          return {
            audience,
            scope: 'read:demo',
            accessTokenTTL: 3600,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'RS256' } },
          };
        },
      },
    },
    ttl: { ClientCredentials: 3600 },
    // Quiet the "you should change this" notices; none of them touches client_credentials.
    cookies: { keys: ['bench-only-cookie-key'] },
    clientBasedCORS: () => false,
  });
  provider.proxy = false;
  provider.on('server_error', (ctx, error) => console.error('server_error', error));

  provider.listen(port, '127.0.0.1', () => process.send('listening'));
  process.on('SIGTERM', () => process.exit(0));
  process.on('disconnect', () => process.exit(0)); // the primary is gone
}
