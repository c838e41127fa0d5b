// Loaded by `npm run bench` into the process it times (NODE_OPTIONS=--import): writes the
// wall-clock time (ms since the epoch) at which the first HTTP request reached a server in
// that process (the simulator) to SENDER_SYNC_BENCH_PROBE_FILE. Nothing else.
import diagnostics from 'node:diagnostics_channel';
import { writeFileSync } from 'node:fs';

const file = process.env.SENDER_SYNC_BENCH_PROBE_FILE;
if (file) {
  const onRequest = () => {
    diagnostics.unsubscribe('http.server.request.start', onRequest);
    writeFileSync(file, String(performance.timeOrigin + performance.now()));
  };
  diagnostics.subscribe('http.server.request.start', onRequest);
}
