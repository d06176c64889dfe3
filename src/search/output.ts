/** Characters kept from each end of a script's output when it is shown to a prompt. */
export const PROMPT_OUTPUT_KEEP = 2500;

/**
 * Output as prompts see it: the first and last `keep` characters with a marker saying how much was left out.
 * Short outputs are returned unchanged.
 */
export function truncateForPrompt(output: string, keep = PROMPT_OUTPUT_KEEP): string {
  if (output.length <= keep * 2) return output;
  const omitted = output.length - keep * 2;
  return `${output.slice(0, keep)}\n[... ${omitted} characters omitted ...]\n${output.slice(-keep)}`;
}

/**
 * Appends chunks up to a storage cap, remembering whether anything was cut. Keeps the head and the tail
 * (half the cap each) so the final traceback of a chatty script survives.
 */
export class CappedOutput {
  private head = "";
  private tail = "";
  private total = 0;

  constructor(private readonly cap: number) {}

  append(chunk: string): void {
    this.total += chunk.length;
    const half = Math.floor(this.cap / 2);
    if (this.head.length < half) {
      const room = half - this.head.length;
      this.head += chunk.slice(0, room);
      chunk = chunk.slice(room);
    }
    if (chunk.length > 0) this.tail = (this.tail + chunk).slice(-(this.cap - half));
  }

  get capped(): boolean {
    return this.total > this.cap;
  }

  get text(): string {
    if (!this.capped) return this.head + this.tail;
    return `${this.head}\n[... output capped: ${this.total - this.head.length - this.tail.length} characters dropped ...]\n${this.tail}`;
  }
}
