const UNITS = ["KB", "MB", "GB", "TB"];

/**
 * A size as people read it, in binary multiples: "12 bytes", "1.5 KB", "12.3 MB", "500 MB", "2 GB" (one decimal
 * below 100, none from 100 on, no trailing ".0").
 */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`;
  let value = bytes / 1024;
  let i = 0;
  while (value >= 1024 && i < UNITS.length - 1) {
    value /= 1024;
    i++;
  }
  const rounded = value >= 100 ? Math.round(value) : Math.round(value * 10) / 10;
  return `${rounded} ${UNITS[i]}`;
}
