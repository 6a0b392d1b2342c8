// The npm graphql-ws client with credentials the server refuses: it is told why and when.
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const [url, token] = process.argv.slice(2);
const out = (thing) => process.stdout.write(JSON.stringify(thing) + '\n');

const client = createClient({
  url,
  webSocketImpl: WebSocket,
  connectionParams: { Authorization: `Bearer ${token}` },
  lazy: false,
  retryAttempts: 0,
  on: { closed: (e) => out({ event: 'closed', code: e.code, reason: e.reason }) },
});
await new Promise((resolve) =>
  client.subscribe(
    { query: 'subscription($u: ID!) { displayFeed(under: $u) { id } }', variables: { u: 'x' } },
    { next: () => {}, error: (e) => { out({ event: 'error', code: e?.code ?? null }); resolve(); }, complete: resolve },
  ),
);
await client.dispose();
