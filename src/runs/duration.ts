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
