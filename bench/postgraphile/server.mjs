// PostGraphile v5 with its amber preset and no permissions, as `make bench` runs it:
// one process, or a node:cluster of WORKERS processes sharing one port, bound to 127.0.0.1.
import cluster from "node:cluster";
import { createServer } from "node:http";
import { postgraphile } from "postgraphile";
import { makePgService } from "postgraphile/adaptors/pg";
import { grafserv } from "postgraphile/grafserv/node";
import { PostGraphileAmberPreset } from "postgraphile/presets/amber";

const connectionString = process.env.DATABASE_URL;
const port = Number(process.env.PORT);
const workers = Number(process.env.WORKERS ?? "1");
const schemas = (process.env.SCHEMAS ?? "public").split(",");

if (workers > 1 && cluster.isPrimary) {
  for (let i = 0; i < workers; i++) cluster.fork();
  cluster.on("exit", (worker, code, signal) => {
    console.error(`PostGraphile worker ${worker.process.pid} exited (${signal ?? code})`);
    process.exit(1);
  });
} else {
  const preset = {
    extends: [PostGraphileAmberPreset],
    // conditions and orderings on every column, not only indexed ones (v4's default)
    disablePlugins: ["PgIndexBehaviorsPlugin"],
    pgServices: [makePgService({ connectionString, schemas })],
    grafserv: { port, host: "127.0.0.1", graphqlPath: "/graphql", graphiql: false, watch: false },
    grafast: { explain: false },
  };
  const serv = postgraphile(preset).createServ(grafserv);
  const server = createServer();
  server.on("error", (error) => {
    console.error(error);
    process.exit(1);
  });
  await serv.addTo(server);
  server.listen(port, "127.0.0.1", () => {
    console.log(`PostGraphile ${process.pid} on http://127.0.0.1:${port}/graphql`);
  });
}
