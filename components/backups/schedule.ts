/**
 * Schedules and retentions as the backup tier's consumers spell them. The config holds one
 * spelling (five-field cron, `7d`/`4w`/`1m` retentions, Go durations); each consumer gets its own:
 *
 * - Kubernetes CronJob and Velero Schedule: the five-field cron as is (both accept `@daily`);
 * - CloudNativePG ScheduledBackup: a SIX-field cron whose first field is seconds (robfig/cron
 *   with seconds), so `0 1 * * *` becomes `0 0 1 * * *`; `@daily` style descriptors pass;
 * - CloudNativePG retentionPolicy: `30d`, `4w`, `1m` as is;
 * - the dump CronJobs' pruning: whole days (a month counts 30 days). Pruning only ever runs after
 *   a successful new backup, so the newest good copy is never pruned.
 */

/** The ScheduledBackup form of a five-field cron: seconds first. */
export function cnpgSchedule(cron: string): string {
  const trimmed = cron.trim();
  if (trimmed.startsWith("@")) return trimmed;
  const fields = trimmed.split(/\s+/);
  if (fields.length !== 5) throw new Error(`not a five-field cron schedule: "${cron}"`);
  return `0 ${fields.join(" ")}`;
}

/** Days in a retention like `7d`, `4w` or `1m` (30 days a month). */
export function retentionDays(retention: string): number {
  const m = /^([1-9][0-9]*)([dwm])$/.exec(retention);
  if (!m) throw new Error(`not a retention like 7d, 4w or 1m: "${retention}"`);
  const n = Number(m[1]);
  return m[2] === "d" ? n : m[2] === "w" ? n * 7 : n * 30;
}

/** Seconds in a Go duration like `720h` or `72h30m` (the config's Velero ttl). */
export function goDurationSeconds(duration: string): number {
  const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(duration);
  if (!m || duration === "") throw new Error(`not a duration like 720h: "${duration}"`);
  return Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0);
}
