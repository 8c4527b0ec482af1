/** A one-line progress bar on stderr, shown only on a terminal and never in CI. */
export function progressEnabled(): boolean {
  return Boolean(process.stderr.isTTY) && !process.env.CI;
}

export class ProgressBar {
  private last = -1;
  constructor(
    private readonly label: string,
    private readonly enabled = progressEnabled(),
  ) {}

  update(done: number, total: number): void {
    if (!this.enabled) return;
    const frac = total > 0 ? Math.min(1, done / total) : 1;
    const pct = Math.floor(frac * 100);
    if (pct === this.last) return;
    this.last = pct;
    const width = 30;
    const fill = Math.round(frac * width);
    process.stderr.write(`\r${this.label} [${"#".repeat(fill)}${" ".repeat(width - fill)}] ${String(pct).padStart(3)}%`);
  }

  done(): void {
    if (this.enabled && this.last >= 0) process.stderr.write("\r\x1b[K");
  }
}
