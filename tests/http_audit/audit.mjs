// Runs the GraphQL-over-HTTP server audits of `graphql-http` against the URL given as the
// first argument and prints one JSON array of {id, name, status, reason} on stdout.
import { serverAudits } from 'graphql-http';

const url = process.argv[2];
const results = await Promise.all(serverAudits({ url }).map(({ fn }) => fn()));
console.log(
  JSON.stringify(
    results.map(({ id, name, status, reason }) => ({ id, name, status, reason: reason ?? null })),
  ),
);
