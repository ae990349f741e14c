// A virtualised list of fixed-height rows: only the rows in view (plus a margin) exist in the DOM, so
// 10,000 incidents or a 5,000-span waterfall scroll as fast as twenty rows.

export interface VirtualListOptions<T> {
  rowHeight: number;
  className?: string;
  id?: string;
  render: (item: T, index: number) => HTMLElement;
  /* called when the view comes within `nearEndRows` of the last row (to fetch the next page) */
  onNearEnd?: () => void;
  nearEndRows?: number;
  overscan?: number;
}

export class VirtualList<T> {
  readonly node: HTMLDivElement;
  private readonly inner: HTMLDivElement;
  private items: T[] = [];
  private frame = 0;
  private first = -1;
  private last = -1;

  constructor(private readonly opts: VirtualListOptions<T>) {
    this.node = document.createElement('div');
    this.node.className = `vlist ${opts.className || ''}`;
    if (opts.id) this.node.id = opts.id;
    this.inner = document.createElement('div');
    this.inner.className = 'vlist-inner';
    this.node.appendChild(this.inner);
    this.node.addEventListener('scroll', () => this.schedule(), { passive: true });
    new ResizeObserver(() => this.schedule()).observe(this.node);
  }

  get length(): number {
    return this.items.length;
  }

  setItems(items: T[]): void {
    this.items = items;
    this.inner.style.height = `${items.length * this.opts.rowHeight}px`;
    this.first = this.last = -1; /* force a redraw: items changed */
    this.draw();
  }

  /* Redraws the rows in view (e.g. after a selection changed their classes). */
  refresh(): void {
    this.first = this.last = -1;
    this.draw();
  }

  /* Scrolls so that row `i` is in the middle of the view, and draws it at once. */
  scrollToIndex(i: number): void {
    const h = this.node.clientHeight || 400;
    this.node.scrollTop = Math.max(0, i * this.opts.rowHeight - h / 2 + this.opts.rowHeight / 2);
    this.first = this.last = -1;
    this.draw();
  }

  isIndexVisible(i: number): boolean {
    const top = i * this.opts.rowHeight;
    return top >= this.node.scrollTop && top + this.opts.rowHeight <= this.node.scrollTop + this.node.clientHeight;
  }

  private schedule(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.draw();
    });
  }

  private draw(): void {
    const { rowHeight } = this.opts;
    const overscan = this.opts.overscan ?? 8;
    const h = this.node.clientHeight || 600;
    const first = Math.max(0, Math.floor(this.node.scrollTop / rowHeight) - overscan);
    const last = Math.min(this.items.length, Math.ceil((this.node.scrollTop + h) / rowHeight) + overscan);
    if (first === this.first && last === this.last) return;
    this.first = first;
    this.last = last;
    const frag = document.createDocumentFragment();
    for (let i = first; i < last; i++) {
      const row = this.opts.render(this.items[i], i);
      row.style.position = 'absolute';
      row.style.top = `${i * rowHeight}px`;
      row.style.height = `${rowHeight}px`;
      row.style.left = '0';
      row.style.right = '0';
      frag.appendChild(row);
    }
    this.inner.replaceChildren(frag);
    const near = this.opts.nearEndRows ?? 30;
    if (this.opts.onNearEnd && last >= this.items.length - near) this.opts.onNearEnd();
  }
}
