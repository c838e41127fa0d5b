-- Why a change happened, when the source says: a webhook's warmup_disabled_causing_bounces
-- or warmup_disabled_receiving_bounces event records warmup_enabled true -> false with its
-- event type here, so the digests can say "warmup disabled (bounces)" (issue 19). Null for
-- every other row, the sync's included.
alter table sender_email_changes add column reason text;
