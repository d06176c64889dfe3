/**
 * Parses a duration as users type it: "90s", "10m", "1h", "1h30m", "2.5m", or a bare number of seconds.
 * Returns seconds, or null when the text is not a duration.
 */
export function parseDurationSec(text: string): number | null {
  const t = text.trim().toLowerCase();
  if (/^\d+(\.\d+)?$/.test(t)) return Number(t);
  const re = /(\d+(?:\.\d+)?)\s*(h|hours?|m|mins?|minutes?|s|secs?|seconds?)/gy;
  let total = 0;
  let matched = 0;
  for (let m = re.exec(t); m; m = re.exec(t)) {
    const unit = m[2]!.charAt(0);
    total += Number(m[1]) * (unit === "h" ? 3600 : unit === "m" ? 60 : 1);
    matched = re.lastIndex;
    while (t[re.lastIndex] === " ") re.lastIndex++;
  }
  return matched > 0 && matched === t.length && total > 0 ? total : null;
}

/** Seconds as users write them, the inverse of parseDurationSec for whole seconds: "90s" is "1m30s", 86400 "24h". */
export function formatDurationSec(sec: number): string {
  const h = Math.floor(sec / 3600);
  const m = Math.floor((sec % 3600) / 60);
  const s = Math.round(sec % 60);
  return [h ? `${h}h` : "", m ? `${m}m` : "", s ? `${s}s` : ""].join("") || "0s";
}
