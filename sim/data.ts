import { chance, hex, intBetween, pick, randomFor, shuffle, slugify, weighted, type Random } from './random';

/** A sender email as EmailBison serves it (snake_case), including fields the client does not know. */
export interface RawSenderEmail {
  id: number;
  name: string | null;
  email: string;
  email_signature: string | null;
  imap_server: string | null;
  smtp_server: string | null;
  daily_limit: number | null;
  type: string | null;
  status: string;
  warmup_enabled: boolean | null;
  tags: RawTag[];
  emails_sent_count: number;
  total_replied_count: number;
  unique_replied_count: number;
  total_opened_count: number | null;
  unique_opened_count: number | null;
  bounced_count: number;
  unsubscribed_count: number;
  interested_leads_count: number;
  total_leads_contacted_count: number;
  created_at: string;
  updated_at: string;
}

export interface RawTag {
  id: number;
  name: string;
  default: boolean;
}

export interface SimWorkspace {
  id: number;
  name: string;
  apiKey: string;
  accounts: RawSenderEmail[];
}

const FIRST_NAMES = [
  'Emma',
  'Liam',
  'Olivia',
  'Noah',
  'Ava',
  'James',
  'Sophia',
  'Lucas',
  'Mia',
  'Ethan',
  'Grace',
  'Daniel',
  'Chloe',
  'Ryan',
  'Hannah',
  'Marcus',
  'Priya',
  'Arjun',
  'Mei',
  'Kenji',
  'Fatima',
  'Omar',
  'Laura',
  'Tom',
  'José',
  'Zoë',
  'Søren',
  'Chloé',
  'Björn',
  'Łukasz',
  'Renée',
  'Aurélie',
  'Jürgen',
  'Inés',
  'François',
  'Małgorzata',
];
const LAST_NAMES = [
  'Smith',
  'Johnson',
  'Brown',
  'Taylor',
  'Walker',
  'Harris',
  'Clark',
  'Lewis',
  'Young',
  'Hall',
  'Allen',
  'King',
  'Wright',
  'Scott',
  'Green',
  'Baker',
  'Patel',
  'Nguyen',
  'Kim',
  'Chen',
  'Rossi',
  'Jansen',
  'Cohen',
  'Murphy',
  'Müller',
  'Núñez',
  'García',
  'Åberg',
  'Kowalski',
  'Dubois',
  'Łęcki',
  'Schröder',
  'Peña',
  'Ødegaard',
  'Lefèvre',
];
const DOMAIN_PATTERNS = ['{s}.com', 'try{s}.com', 'get{s}.io', '{s}-hq.com', '{s}mail.co', 'meet{s}.com', '{s}team.net'];

const PROVIDERS = [
  { tag: { id: 1, name: 'Google', default: true }, type: 'Google', imap: 'imap.gmail.com', smtp: 'smtp.gmail.com', weight: 55 },
  {
    tag: { id: 2, name: 'Outlook', default: true },
    type: 'Microsoft',
    imap: 'outlook.office365.com',
    smtp: 'smtp.office365.com',
    weight: 35,
  },
  { tag: { id: 3, name: 'SMTP', default: true }, type: 'SMTP', imap: null, smtp: null, weight: 10 },
] as const;
const RESELLERS: readonly RawTag[] = [
  { id: 11, name: 'Mailreef', default: false },
  { id: 12, name: 'Inboxkit', default: false },
  { id: 13, name: 'Zapmail', default: false },
  { id: 14, name: 'ScaledMail', default: false },
  { id: 15, name: 'Premium Inboxes', default: false },
];
const EXTRA_TAGS: readonly RawTag[] = [
  { id: 21, name: 'Warmup pool', default: false },
  { id: 22, name: 'Q3 domains', default: false },
  { id: 23, name: 'Needs DNS check', default: false },
];
const STATUSES = [
  ['Connected', 86],
  ['Not connected', 8],
  ['Disconnected', 4],
  ['Paused', 2],
] as const;

/** Generates a workspace's accounts; ids start at `firstId` and climb with small gaps. */
export function generateAccounts(options: {
  seed: number;
  workspace: string;
  count: number;
  firstId: number;
  epochMs: number;
}): RawSenderEmail[] {
  const random = randomFor(options.seed, 'accounts', options.workspace);
  const domains = workspaceDomains(options.seed, options.workspace);
  const used = new Set<string>();
  const accounts: RawSenderEmail[] = [];
  let id = options.firstId;
  for (let index = 0; index < options.count; index++) {
    accounts.push(generateAccount(random, { id, domains, used, epochMs: options.epochMs }));
    id += intBetween(random, 1, 3);
  }
  return accounts;
}

export function generateAccount(
  random: Random,
  context: { id: number; domains: string[]; used: Set<string>; epochMs: number },
): RawSenderEmail {
  const first = pick(random, FIRST_NAMES);
  const last = pick(random, LAST_NAMES);
  const email = uniqueEmail(`${slugify(first)}.${slugify(last)}`.replace(/-/g, ''), pick(random, context.domains), context.used);
  const provider = weighted(
    random,
    PROVIDERS.map((entry) => [entry, entry.weight] as const),
  );
  const tags: RawTag[] = [{ ...provider.tag }, { ...pick(random, RESELLERS) }];
  if (chance(random, 0.25)) tags.push({ ...pick(random, EXTRA_TAGS) });
  const createdMs = context.epochMs - intBetween(random, 1, 800) * 86_400_000 - intBetween(random, 0, 86_399) * 1000;
  const updatedMs = Math.min(context.epochMs, createdMs + intBetween(random, 0, 400) * 86_400_000);
  const ageDays = Math.floor((context.epochMs - createdMs) / 86_400_000);
  const sent = intBetween(random, 0, Math.min(25_000, ageDays * 40));
  const replied = Math.floor(sent * random() * 0.04);
  const opensTracked = chance(random, 0.7);
  const opened = Math.floor(sent * (0.2 + random() * 0.4));
  const uniqueReplied = Math.floor(replied * (0.7 + random() * 0.3));
  return {
    id: context.id,
    name: chance(random, 0.03) ? null : `${first} ${last}`,
    email,
    email_signature: chance(random, 0.4) ? null : `<p>Best,<br>${first} ${last}</p>`,
    imap_server: provider.imap,
    smtp_server: provider.smtp,
    daily_limit: chance(random, 0.03) ? null : pick(random, [20, 25, 30, 30, 40, 50]),
    type: chance(random, 0.01) ? null : provider.type,
    status: weighted(random, STATUSES),
    warmup_enabled: chance(random, 0.05) ? null : chance(random, 0.8),
    tags,
    emails_sent_count: sent,
    total_replied_count: replied,
    unique_replied_count: uniqueReplied,
    total_opened_count: opensTracked ? opened : null,
    unique_opened_count: opensTracked ? Math.floor(opened * (0.6 + random() * 0.3)) : null,
    bounced_count: Math.floor(sent * random() * 0.03),
    unsubscribed_count: Math.floor(sent * random() * 0.005),
    interested_leads_count: Math.floor(uniqueReplied * random() * 0.5),
    total_leads_contacted_count: Math.floor(sent * (0.55 + random() * 0.35)),
    created_at: laravelTimestamp(createdMs),
    updated_at: laravelTimestamp(updatedMs),
  };
}

/** New activity on an account: counters grow, the status sometimes flips, updated_at moves. */
export function touchAccount(random: Random, account: RawSenderEmail, nowMs: number): RawSenderEmail {
  const sent = intBetween(random, 5, 200);
  const replied = intBetween(random, 0, Math.ceil(sent * 0.04));
  return {
    ...account,
    status: chance(random, 0.1) ? weighted(random, STATUSES) : account.status,
    emails_sent_count: account.emails_sent_count + sent,
    total_leads_contacted_count: account.total_leads_contacted_count + Math.floor(sent * 0.8),
    total_replied_count: account.total_replied_count + replied,
    unique_replied_count: account.unique_replied_count + replied,
    bounced_count: account.bounced_count + intBetween(random, 0, 2),
    total_opened_count: account.total_opened_count === null ? null : account.total_opened_count + Math.floor(sent * 0.3),
    unique_opened_count: account.unique_opened_count === null ? null : account.unique_opened_count + Math.floor(sent * 0.2),
    updated_at: laravelTimestamp(nowMs),
  };
}

/** The sending domains of a client: a few look-alikes of its brand, as agencies buy them. */
export function workspaceDomains(seed: number, workspace: string): string[] {
  const random = randomFor(seed, 'domains', workspace);
  const stem = slugify(workspace).split('-')[0] || 'agency';
  const patterns = shuffle(random, DOMAIN_PATTERNS).slice(0, intBetween(random, 3, 6));
  return patterns.map((pattern) => pattern.replace('{s}', stem));
}

export function apiKeyFor(seed: number, workspace: string): string {
  return `sim_${slugify(workspace)}_${hex(randomFor(seed, 'key', workspace), 24)}`;
}

/** Laravel's default JSON date format: 2024-05-12T10:22:31.000000Z. */
export function laravelTimestamp(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, '.000000Z');
}

function uniqueEmail(local: string, domain: string, used: Set<string>): string {
  let candidate = `${local}@${domain}`;
  for (let n = 2; used.has(candidate); n++) candidate = `${local}${n}@${domain}`;
  used.add(candidate);
  return candidate;
}
