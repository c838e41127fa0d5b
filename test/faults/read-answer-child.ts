import { closeSharedDispatchers, createEmailBisonClient } from '../../lambdas/emailbison/client';

/*
 * One EmailBison walk in a process of its own, so its peak RSS is the read's alone (what a
 * Lambda's 1,024 MB would have to hold). argv: <baseUrl> <apiKey> <client options as JSON>.
 * Prints one JSON line: the error's name, code and message (or none), the time it took, and
 * the process's peak RSS (getrusage's maxrss, the kernel's own high-water mark).
 */
const [baseUrl, apiKey, optionsJson] = process.argv.slice(2);
const started = performance.now();
let outcome: { name?: string; code?: string; message?: string; pages: number } = { pages: 0 };
try {
  const client = createEmailBisonClient({ workspace: 'Kestrel Ventures', baseUrl, apiKey, ...JSON.parse(optionsJson ?? '{}') });
  for await (const step of client.listSenderEmails()) if (step.kind === 'page') outcome.pages += 1;
} catch (error) {
  const { name, code, message } = error as { name: string; code?: string; message: string };
  outcome = { ...outcome, name, code, message };
} finally {
  await closeSharedDispatchers();
}
const elapsedMs = Math.round(performance.now() - started);
const peakRssMb = Math.round(process.resourceUsage().maxRSS / 1024);
console.log(JSON.stringify({ ...outcome, elapsedMs, peakRssMb }));
