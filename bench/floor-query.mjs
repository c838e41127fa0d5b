// The floor of a read command (`npm run bench`, section 14.6): a bare node process that
// connects to DATABASE_URL with postgres.js, runs one query, prints it and ends.
import postgres from 'postgres';

const sql = postgres(process.env.DATABASE_URL, { max: 1, onnotice: () => {} });
const [row] = await sql`select count(*)::int as jobs from polling_job_status`;
console.log(row.jobs);
await sql.end();
