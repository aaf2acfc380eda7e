/**
 * Whether a setting's *name* says it holds a credential. Shared by the config schema (plain
 * `env` refuses such names) and the policy pack (no literal values under such names, no such keys
 * in ConfigMaps), so the two cannot disagree.
 *
 * A substring match on TOKEN/KEY flags the ordinary knobs of an LLM service (`MAX_TOKENS`,
 * `CACHE_KEY_PREFIX`, `TOKENIZER`), so names are split into words (`_`, `.`, `-`, camelCase) and
 * judged word by word:
 * - a credential word anywhere, also glued into another (PGPASSWORD): PASSWORD, PASSWD,
 *   PASSPHRASE, SECRET, CREDENTIAL, APIKEY, ACCESSTOKEN…;
 * - TOKEN as a whole word (not TOKENS, TOKENIZER), unless the name counts tokens (MAX, LIMIT,
 *   BUDGET, PER, …);
 * - KEY after a word that makes it a credential (API_KEY, ACCESS_KEY, PRIVATE_KEY, tls.key…), or
 *   as the last word after anything but a data-key word (OPENAI_KEY yes; CACHE_KEY,
 *   PARTITION_KEY no);
 * - but not when the last word says the name describes a credential rather than holding it
 *   (`*_FILE`, `*_PATH`, `*_HEADER`, `*_NAME`, `*_TTL`, `*_LENGTH`, …).
 * Values shaped like credentials are caught by value, whatever the name (policies/secrets.ts).
 */

const CREDENTIAL_WORDS = new Set([
  "PASSWORD",
  "PASSWORDS",
  "PASSWD",
  "PASSPHRASE",
  "PWD",
  "SECRET",
  "SECRETS",
  "CREDENTIAL",
  "CREDENTIALS",
  "CREDS",
  "APIKEY",
  "PRIVATEKEY",
  "ACCESSKEY",
  "SECRETKEY",
  "ACCESSTOKEN",
  "AUTHTOKEN",
  "REFRESHTOKEN",
  "BEARERTOKEN",
]);

/** Glued into another word they still say credential: PGPASSWORD, DBCREDENTIALS. */
const CREDENTIAL_STEMS = /PASSWORD|PASSWD|PASSPHRASE|CREDENTIAL|SECRET/;

/** Words before KEY that make it a credential (API_KEY, tls.key). */
const CREDENTIAL_KEY_KINDS = new Set([
  "API",
  "ACCESS",
  "PRIVATE",
  "SECRET",
  "ENCRYPTION",
  "DECRYPTION",
  "SIGNING",
  "MASTER",
  "SESSION",
  "HMAC",
  "JWT",
  "AUTH",
  "LICENSE",
  "SSH",
  "TLS",
  "SSL",
  "DEPLOY",
  "SERVER",
  "CLIENT",
]);

/** Words before a final KEY that make it a data key, not a credential (CACHE_KEY). */
const DATA_KEY_KINDS = new Set([
  "CACHE",
  "PARTITION",
  "SORT",
  "ROUTING",
  "PRIMARY",
  "FOREIGN",
  "IDEMPOTENCY",
  "LOOKUP",
  "HASH",
  "SHARD",
  "OBJECT",
  "BUCKET",
  "LABEL",
  "METADATA",
  "DEDUP",
  "DEDUPLICATION",
  "GROUP",
  "TENANT",
  "QUEUE",
  "INDEX",
  "STREAM",
  "TOPIC",
  "PUBLIC",
  "CONFIG",
  "MAP",
  "ROW",
  "COLUMN",
  "ENTRY",
  "REQUEST",
  "USER",
  "TRACE",
  "MESSAGE",
]);

/** Last words that describe a credential rather than hold it (PASSWORD_FILE, TOKEN_TTL). */
const DESCRIPTIVE_SUFFIXES = new Set([
  "FILE",
  "PATH",
  "DIR",
  "HEADER",
  "NAME",
  "PREFIX",
  "SUFFIX",
  "FIELD",
  "URL",
  "URI",
  "ENDPOINT",
  "TTL",
  "EXPIRY",
  "EXPIRATION",
  "LIFETIME",
  "LENGTH",
  "LEN",
  "SIZE",
  "COUNT",
  "LIMIT",
  "ROTATION",
  "TYPE",
  "ALGORITHM",
  "ALG",
  "ENABLED",
  "REQUIRED",
  "POLICY",
]);

/** Words that say a TOKEN name counts LLM tokens (MAX_TOKEN_COUNT, PROMPT_TOKEN_BUDGET). */
const COUNT_WORDS = new Set([
  "MAX",
  "MIN",
  "NUM",
  "LIMIT",
  "COUNT",
  "BUDGET",
  "SIZE",
  "LENGTH",
  "PER",
  "RATE",
  "TOTAL",
  "USAGE",
  "WINDOW",
  "CONTEXT",
]);

/** `openaiApiKey` → OPENAI API KEY; `MAX_INPUT_TOKENS` → MAX INPUT TOKENS; `tls.key` → TLS KEY. */
export function nameWords(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .replace(/([A-Z]+)([A-Z][a-z])/g, "$1_$2")
    .split(/[^A-Za-z0-9]+/)
    .filter((w) => w.length > 0)
    .map((w) => w.toUpperCase());
}

/** True when `name` names a credential (see the module comment for the rules). */
export function isSensitiveName(name: string): boolean {
  const words = nameWords(name);
  if (words.length === 0) return false;
  const last = words.length - 1;
  if (last > 0 && DESCRIPTIVE_SUFFIXES.has(words[last])) return false;
  const counts = words.some((w) => COUNT_WORDS.has(w));
  return words.some((w, i) => {
    if (CREDENTIAL_WORDS.has(w) || CREDENTIAL_STEMS.test(w)) return true;
    if (w === "TOKEN") return !counts;
    if (w === "KEY") {
      if (i > 0 && CREDENTIAL_KEY_KINDS.has(words[i - 1])) return true;
      return i === last && (i === 0 || !DATA_KEY_KINDS.has(words[i - 1]));
    }
    return false;
  });
}
