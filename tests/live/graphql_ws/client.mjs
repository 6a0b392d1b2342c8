// The npm graphql-ws client, unchanged, against our /graphql: one JSON line per thing it
// sees, for tests/live/test_graphql_ws_client.py to read.
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const [url, token, under] = process.argv.slice(2);
const out = (thing) => process.stdout.write(JSON.stringify(thing) + '\n');

const client = createClient({
  url,
  webSocketImpl: WebSocket,
  connectionParams: { Authorization: `Bearer ${token}` },
  lazy: false,
  retryAttempts: 0,
  on: {
    connected: () => out({ event: 'connected' }),
    closed: (e) => out({ event: 'closed', code: e.code, reason: e.reason }),
  },
});

try {
  // a subscription the server refuses: the sink gets the GraphQL errors
  await new Promise((resolve) =>
    client.subscribe(
      { query: 'subscription { noSuchField }' },
      {
        next: (result) => out({ event: 'unexpected', result }),
        error: (errors) => { out({ event: 'error', errors }); resolve(); },
        complete: resolve,
      },
    ),
  );
  // one that is served: two events, then the client completes it
  const events = client.iterate({
    query: `subscription($u: ID!) {
      petitionEvents(under: $u) { id event { action toStatus } petition { id status } } }`,
    variables: { u: under },
  });
  out({ event: 'subscribed' });
  let seen = 0;
  for await (const result of events) {
    out({ event: 'next', result });
    if (++seen === 2) break;
  }
  out({ event: 'completed' });
} catch (error) {
  out({ event: 'failed', error: String(error?.code ?? error) });
} finally {
  await client.dispose();
}
