// Parse Server 8 for bench/versus.sh: node server.mjs <database-uri> <port> <cloud/main.js>
// Logs only errors, as cloudrt logs by default, so neither pays for request logging.
import { ParseServer } from 'parse-server';

const [databaseURI, port, cloud] = process.argv.slice(2);
await ParseServer.startApp({
  databaseURI,
  cloud,
  appId: 'myapp',
  masterKey: 'bench-master',
  serverURL: `http://127.0.0.1:${port}/parse`,
  port: Number(port),
  host: '127.0.0.1',
  mountPath: '/parse',
  logLevel: 'error',
  silent: true,
  logsFolder: null,
  allowClientClassCreation: true,
});
console.log(`parse-server: listening on http://127.0.0.1:${port}/parse`);
